from snakemake.utils import min_version

min_version("9.0")


# The workflow's own config.yaml, wherever the working directory is (-d / --directory).
configfile: f"{workflow.basedir}/config.yaml"


report: "report/workflow.rst"


# Before the includes: declared after them, Snakemake applies them again to every input and
# output of every rule already made (3 s of a 50,000-file parse).
wildcard_constraints:
    id=r"[^.\n][^\n]*",
    branch=r"npy|png|birdnet",
    name=r"[^/\n]+",
    prefix=r"(experiments/[A-Za-z0-9][A-Za-z0-9_.-]*/)?(folds/[A-Za-z0-9][A-Za-z0-9_.-]*/)?",


include: "rules/common.smk"
include: "rules/demo.smk"
include: "rules/spectrogram.smk"
include: "rules/embedding.smk"
include: "rules/catalog.smk"
include: "rules/manifest.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/predict.smk"
include: "rules/report.smk"
include: "rules/listen.smk"


localrules:
    all,
    catalog,
    manifest_npy,
    manifest_png,
    compare_branches,
    plot_history,
    plot_confusion,
    plot_learning_curve,
    plot_pr_curves,
    gallery,
    effective_config,
    split_summary_page,
    rejected_page,
    comparison_page,
    listen,
    predictions,
    folds,
    compare_experiments,
    experiments_page,


rule all:
    input:
        final_targets(),
