# The catalog of the run: every usable file (or, with windows, every labelled window) with its
# labels, class id and split (worked out once, at parse time, in common.smk, and handed over as
# params; windows are labelled here, from the recordings' lengths and the annotation tables), plus
# the rejected files: those rejected at parse time, and those a spectrogram job found unusable
# (marked outputs, see scripts/workers.py: run_job), which this job leaves out of every table.


rule catalog:
    input:
        audio=all_audio(),
        tables=annotation_tables(),
        pngs=spec_files(listing_branch()),
    output:
        **catalog_outputs(),
    log:
        "logs/catalog.log",
    conda:
        "../envs/audio.yaml"
    params:
        files=catalog_rows(),
        rejected=rejected_files(),
        png_folder=branch_folder(listing_branch()),
        on_bad_audio=config["on_bad_audio"],
        windows=windowing(),
        labels=annotation_labels(),
        audio_dir=audio_root,
    script:
        "../scripts/make_catalog.py"
