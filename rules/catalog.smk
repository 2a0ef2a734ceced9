# The catalog of the run: every usable file with its labels, class id and split (worked out once,
# at parse time, in common.smk, and handed over as params), plus the rejected files.


rule catalog:
    input:
        audio=all_audio(),
    output:
        catalog="results/catalog.csv",
        classes="results/classes.csv",
        summary="results/split_summary.csv",
        rejected="results/rejected.csv",
    log:
        "logs/catalog.log",
    conda:
        "../envs/audio.yaml"
    params:
        files=catalog_rows(),
        rejected=rejected_files(),
    script:
        "../scripts/make_catalog.py"
