# The catalog of the run: every usable file (or, with windows, every labelled window) with its
# labels, class id and split (worked out once, at parse time, in common.smk, and handed over as
# params; windows are labelled here, from the recordings' lengths and the annotation tables), plus
# the rejected files: those rejected at parse time, and those a spectrogram job found unusable
# (marked outputs, see scripts/workers.py: run_job), which this job leaves out of every table.
# The inputs are the spectrogram jobs' file facts (results/file_facts/, rewritten whenever a job
# reruns), not the audio files or the spectrograms: one small table per job holds each file's
# audio facts and rejection, so the DAG, this job and the checksums Snakemake records after it
# handle a file per job, not a file per recording. A `run:` rule: the job runs in the Snakemake
# process (a localrule, see Snakefile), not in a new Python that imports pandas.


rule catalog:
    input:
        tables=annotation_inputs(),
        facts=fact_files(),
    output:
        **catalog_outputs(),
    log:
        "logs/catalog.log",
    params:
        files=catalog_rows(),
        rejected=rejected_files(),
        on_bad_audio=config["on_bad_audio"],
        windows=windowing(),
        labels=annotation_labels(),
        audio_dir=audio_root,
        table_contents=table_contents(),
    run:
        from make_catalog import run_rule

        for line in run_rule(input, output, params, log):
            logger.warning(f"catalog: {line}")
