from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/demo.smk"
include: "rules/spectrogram.smk"
include: "rules/catalog.smk"
include: "rules/manifest.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/predict.smk"
include: "rules/report.smk"
include: "rules/listen.smk"


wildcard_constraints:
    id=r"[^.\n][^\n]*",
    branch=r"npy|png",
    name=r"[^/\n]+",


localrules:
    all,
    catalog,
    manifest_npy,
    manifest_png,
    compare_branches,
    plot_history,
    plot_confusion,
    gallery,
    effective_config,
    split_summary_page,
    rejected_page,
    comparison_page,
    listen,


rule all:
    input:
        "results/model_npy.keras",
        "results/model_png.keras",
        "results/branch_comparison.md",
        expand(
            "results/figures/{branch}_{figure}.png",
            branch=["npy", "png"],
            figure=["training_curves", "confusion_matrix"],
        ),
        "results/split_summary.csv",
        "results/figures/gallery.png",
        "results/effective_config.yaml",
        "results/report/split_summary.html",
        "results/report/rejected.html",
        "results/report/branch_comparison.html",
