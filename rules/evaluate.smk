rule plot_history:
    input:
        "results/{branch}/history.csv",
    output:
        report(
            "results/figures/{branch}_training_curves.png",
            caption="../report/training_curves.rst",
            category="Training",
            subcategory="{branch} branch",
            labels={"figure": "training curves"},
        ),
    log:
        "logs/plot_history_{branch}.log",
    conda:
        "../envs/audio.yaml"
    params:
        kind="history",
    script:
        "../scripts/plots.py"


rule plot_confusion:
    input:
        "results/{branch}/confusion_matrix.csv",
    output:
        report(
            "results/figures/{branch}_confusion_matrix.png",
            caption="../report/confusion_matrix.rst",
            category="Training",
            subcategory="{branch} branch",
            labels={"figure": "confusion matrix"},
        ),
    log:
        "logs/plot_confusion_{branch}.log",
    conda:
        "../envs/audio.yaml"
    params:
        kind="confusion",
    script:
        "../scripts/plots.py"


rule compare_branches:
    input:
        metrics_npy="results/npy/metrics.json",
        metrics_png="results/png/metrics.json",
        npy_manifest="results/final_specs.csv",
        png_manifest="results/final_spects.csv",
    output:
        json="results/branch_comparison.json",
        md="results/branch_comparison.md",
    log:
        "logs/compare_branches.log",
    conda:
        "../envs/audio.yaml"
    params:
        channels=config["spectrogram"]["channels"],
    script:
        "../scripts/compare_branches.py"


rule predict:
    input:
        model="results/model_npy.keras",
        provenance="results/model_npy.provenance.json",
        audio=prediction_audio,
    output:
        "results/predictions/{name}.csv",
    log:
        "logs/predict_{name}.log",
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/predict.py"
