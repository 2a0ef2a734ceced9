# Spectrograms of every audio file: every enabled branch (and the colour images of image.cmap)
# from one computation. Every spectrogram is a declared output, and so is the job's table of file
# facts (results/file_facts/: rejections, audio facts, shapes; scripts/file_facts.py), which the
# catalog and the manifests read instead of every audio header and spectrogram of the run. With files_per_job: 1 there is
# one job per file; otherwise the files are grouped into batches by a hash of their id
# (scripts/batches.py), one rule per batch, so Snakemake's per-job bookkeeping is paid per batch
# instead of per file. spectrogram_rules() in common.smk gives each rule's files; the rule is
# written once, here. The jobs run in threads of the Snakemake process and hand their files to
# its pool of warm worker processes (compute_spectrograms in common.smk, scripts/workers.py:
# run_job), so every core computes; each finished job adds to the run's progress line.
# The group "spectrograms" only matters on a cluster (Snakemake ignores groups locally): a profile's
# group-components can bundle batches into one cluster job (docs/slurm.md says why profiles/slurm does not).
# Each job's cluster runtime and mem_mb follow the seconds of audio it holds (job_resources in
# common.smk; batch_resources in the configuration overrides them for every job).
for (
    spectrogram_rule,
    audio,
    outputs,
    job_log,
    content,
    rule_resources,
) in spectrogram_rules():

    rule:
        name:
            spectrogram_rule
        input:
            audio=audio,
        output:
            **outputs,
        log:
            job_log,
        group:
            "spectrograms"
        resources:
            **rule_resources,
        params:
            settings=config["spectrogram"],
            windows=windowing(),
            on_silent=config["on_silent"],
            image=image_settings(),
            channels=CHANNELS,
            math=code_digest(*SPECTROGRAM_CODE),
            content=content,
        run:
            compute_spectrograms(input, output, params, log)
