# Pages of the HTML report (`snakemake --report results/report.html`). Snakemake's report
# shows images and HTML inline and offers other files only as downloads, so every table is
# also written as a small HTML page under results/report/. All of these rules are cheap.


rule gallery:
    input:
        manifest=BRANCHES[listing_branch()]["manifest"],
    output:
        report(
            "results/figures/gallery.png",
            caption="../report/gallery.rst",
            category="Data",
        ),
    log:
        "logs/gallery.log",
    conda:
        "../envs/audio.yaml"
    params:
        settings=config["spectrogram"],
        per_class=3,
        max_classes=20,
        channels=CHANNELS,
        math=code_digest("spectrogram_math.py"),
    script:
        "../scripts/gallery.py"


rule effective_config:
    output:
        yaml="results/effective_config.yaml",
        html=report(
            "results/report/effective_config.html",
            caption="../report/effective_config.rst",
            category="Data",
        ),
    log:
        "logs/effective_config.log",
    conda:
        "../envs/audio.yaml"
    params:
        page="config",
        config=config,
    script:
        "../scripts/report_pages.py"


rule split_summary_page:
    input:
        "results/split_summary.csv",
    output:
        report(
            "results/report/split_summary.html",
            caption="../report/split_summary.rst",
            category="Data",
        ),
    log:
        "logs/split_summary_page.log",
    conda:
        "../envs/audio.yaml"
    params:
        page="csv",
        title="Files and authors per split and class",
        empty="No files.",
    script:
        "../scripts/report_pages.py"


rule rejected_page:
    input:
        "results/rejected.csv",
    output:
        report(
            "results/report/rejected.html",
            caption="../report/rejected.rst",
            category="Data",
        ),
    log:
        "logs/rejected_page.log",
    conda:
        "../envs/audio.yaml"
    params:
        page="csv",
        title="Audio files left out",
        empty="No audio file was left out: every file was readable and labelled.",
    script:
        "../scripts/report_pages.py"


if len(MODEL_BRANCHES) >= 2:

    rule comparison_page:
        input:
            "results/branch_comparison.md",
        output:
            report(
                "results/report/branch_comparison.html",
                caption="../report/branch_comparison.rst",
                category="Comparison",
            ),
        log:
            "logs/comparison_page.log",
        conda:
            "../envs/audio.yaml"
        params:
            page="markdown",
            title=" and ".join(branch.upper() for branch in MODEL_BRANCHES)
            + " branches side by side",
        script:
            "../scripts/report_pages.py"


rule experiments_page:
    input:
        "results/experiments.md",
    output:
        report(
            "results/report/experiments.html",
            caption="../report/experiments.rst",
            category="Comparison",
        ),
    log:
        "logs/experiments_page.log",
    conda:
        "../envs/audio.yaml"
    params:
        page="markdown",
        title="Experiments and cross-validation",
    script:
        "../scripts/report_pages.py"
