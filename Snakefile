from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "rules/common.smk"
include: "rules/demo.smk"
include: "rules/spectrogram.smk"
include: "rules/manifest.smk"


wildcard_constraints:
    id=r"[^.\n][^\n]*",


localrules:
    all,
    catalog,
    manifest_npy,
    manifest_png,


rule all:
    input:
        "results/final_specs.csv",
        "results/final_spects.csv",
        "results/train_data.csv",
        "results/split_summary.csv",
