# The manifest of each branch (results/final_specs.csv, results/final_spects.csv): one row per
# clip, from the catalog and the shapes in the spectrogram jobs' file facts (results/file_facts/).
# The spectrograms are not inputs: the facts stand for them (100 files instead of 3,000 for
# Snakemake to match to their producers at every parse; a branch turned on changes the facts'
# folder, see FACTS_DIR in common.smk). One definition for both branches. Beside each manifest, its
# axes file (results/final_specs.axes.json): the Hz of every row and the seconds of every column, from
# the settings (not in the spectrogram folders, whose unknown files are removed as orphans).
# `run:` rules (localrules): the job runs in the Snakemake process, not in a new Python.
for manifest_branch, layout in BRANCHES.items():

    rule:
        name:
            f"manifest_{manifest_branch}"
        input:
            catalog="results/catalog.csv",
            facts=fact_files(),
        output:
            manifest=layout["manifest"],
            axes=layout["manifest"].removesuffix(".csv") + ".axes.json",
        log:
            f"logs/manifest_{manifest_branch}.log",
        params:
            branch=manifest_branch,
            folder=branch_folder(manifest_branch),
            suffix=layout["suffix"],
            spectrogram=config["spectrogram"],
            image=(
                {key: config["image"][key] for key in ("scale", "height", "width")}
                if manifest_branch == "png"
                else None
            ),
            windows=windowing(),
        run:
            from make_manifest import run_rule

            run_rule(input, output, params, log)
