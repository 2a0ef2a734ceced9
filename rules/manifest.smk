# The manifest of each branch (results/final_specs.csv, results/final_spects.csv): one row per
# clip, from the catalog and the shapes in the spectrogram jobs' file facts (results/file_facts/).
# The branch's spectrograms are inputs although the job reads none of them: Snakemake looks for a
# job's missing outputs only among those a needed job asks for, so without them a branch turned
# on after a run would get a manifest of files never made. One definition for both branches.
# `run:` rules (localrules): the job runs in the Snakemake process, not in a new Python.
for manifest_branch, layout in BRANCHES.items():

    rule:
        name:
            f"manifest_{manifest_branch}"
        input:
            catalog="results/catalog.csv",
            facts=fact_files(),
            specs=spec_files(manifest_branch),
        output:
            layout["manifest"],
        log:
            f"logs/manifest_{manifest_branch}.log",
        params:
            branch=manifest_branch,
            folder=branch_folder(manifest_branch),
            suffix=layout["suffix"],
        run:
            from make_manifest import run_rule

            run_rule(input, output, params, log)
