# Figures of each model's training (prefix: "" for the default models, see rule train) and the
# two branches side by side.


rule plot_history:
    input:
        "results/{prefix}{branch}/history.csv",
    output:
        report(
            "results/{prefix}figures/{branch}_training_curves.png",
            caption="../report/training_curves.rst",
            category="Training",
            subcategory="{prefix}{branch} branch",
            labels={"figure": "training curves"},
        ),
    log:
        "logs/{prefix}plot_history_{branch}.log",
    conda:
        "../envs/audio.yaml"
    params:
        kind="history",
    script:
        "../scripts/plots.py"


rule plot_confusion:
    input:
        "results/{prefix}{branch}/confusion_matrix.csv",
    output:
        report(
            "results/{prefix}figures/{branch}_confusion_matrix.png",
            caption="../report/confusion_matrix.rst",
            category="Training",
            subcategory="{prefix}{branch} branch",
            labels={"figure": "confusion matrix"},
        ),
    log:
        "logs/{prefix}plot_confusion_{branch}.log",
    conda:
        "../envs/audio.yaml"
    params:
        kind="confusion",
    script:
        "../scripts/plots.py"


rule plot_pr_curves:
    input:
        "results/{prefix}{branch}/scores.csv",
    output:
        report(
            "results/{prefix}figures/{branch}_pr_curves.png",
            caption="../report/pr_curves.rst",
            category="Training",
            subcategory="{prefix}{branch} branch",
            labels={"figure": "precision-recall curves"},
        ),
    log:
        "logs/{prefix}plot_pr_curves_{branch}.log",
    conda:
        "../envs/audio.yaml"
    params:
        kind="pr_curves",
    script:
        "../scripts/plots.py"


rule plot_learning_curve:
    input:
        "results/{branch}/learning_curve.csv",
    output:
        report(
            "results/figures/{branch}_learning_curve.png",
            caption="../report/learning_curve.rst",
            category="Training",
            subcategory="{branch} branch",
            labels={"figure": "learning curve"},
        ),
    log:
        "logs/plot_learning_curve_{branch}.log",
    conda:
        "../envs/audio.yaml"
    params:
        kind="learning_curve",
    script:
        "../scripts/plots.py"


# The comparison needs two branches (branches: [npy, png], the default; birdnet beside either);
# the largest |png/255 - npy| needs both spectrogram branches.
if len(MODEL_BRANCHES) >= 2:

    rule compare_branches:
        input:
            **{
                f"{branch}_manifest": BRANCHES[branch]["manifest"]
                for branch in BRANCHES
                if len(BRANCHES) == 2
            },
            metrics=[f"results/{branch}/metrics.json" for branch in MODEL_BRANCHES],
        output:
            json="results/branch_comparison.json",
            md="results/branch_comparison.md",
        log:
            "logs/compare_branches.log",
        conda:
            "../envs/audio.yaml"
        params:
            channels=CHANNELS,
            branches=MODEL_BRANCHES,
        script:
            "../scripts/compare_branches.py"


# Every model side by side (with experiments or split.folds): the default models, each
# experiment's, and each fold's with the mean and standard deviation over the folds.
rule compare_experiments:
    input:
        metrics=[
            f"results/{prefix}{branch}/metrics.json"
            for _, branch, _, prefix in variant_models()
        ],
    output:
        csv="results/experiments.csv",
        md="results/experiments.md",
        json="results/experiments.json",
    log:
        "logs/compare_experiments.log",
    params:
        models=[model[:3] for model in variant_models()],
    run:
        from compare_experiments import run_rule

        run_rule(input, output, params, log)
