# The catalog of the run: every usable file (or, with windows, every labelled window) with its
# labels, class id and split (worked out once, at parse time, in common.smk, and handed over as
# params; windows are labelled here, from the recordings' lengths and the annotation tables), plus
# the rejected files: those rejected at parse time, and those a spectrogram job found unusable
# (marked outputs, see scripts/workers.py: run_job), which this job leaves out of every table.
# The audio files are not inputs: each one's spectrograms are, and those are rewritten whenever
# the file changes (listing 50,000 audio files as well doubled this rule's cost at every parse,
# in the DAG and in the checksums Snakemake records after the job). A `run:` rule: the job runs
# in the Snakemake process (a localrule, see Snakefile), not in a new Python that imports pandas.


rule catalog:
    input:
        tables=annotation_tables(),
        pngs=spec_files(listing_branch()),
    output:
        **catalog_outputs(),
    log:
        "logs/catalog.log",
    params:
        files=catalog_rows(),
        rejected=rejected_files(),
        png_folder=branch_folder(listing_branch()),
        on_bad_audio=config["on_bad_audio"],
        windows=windowing(),
        labels=annotation_labels(),
        audio_dir=audio_root,
    run:
        from make_catalog import run_rule

        run_rule(input, output, params, log)
