# Spectrograms of every audio file, both branches from one computation. Every spectrogram is
# a declared output. With files_per_job: 1 there is one job per file; otherwise the files are
# grouped into batches by a hash of their id (scripts/batches.py), one rule per batch, so
# Snakemake's per-job bookkeeping is paid per batch instead of per file. spectrogram_rules()
# in common.smk gives each rule's files; the rule is written once, here.
# The jobs run in threads of the Snakemake process and hand their files to its pool of warm
# worker processes (scripts/workers.py: run_job), so every core computes. file_timeout is not a
# param: a time limit changes no output, so changing it reruns nothing.
# The group "spectrograms" only matters on a cluster (Snakemake ignores groups locally):
# profiles/slurm bundles many batches into one cluster job with group-components.
for spectrogram_rule, audio, npy, png, job_log in spectrogram_rules():

    rule:
        name:
            spectrogram_rule
        input:
            audio=audio,
        output:
            npy=npy,
            png=png,
        log:
            job_log,
        group:
            "spectrograms"
        resources:
            runtime=5,
        params:
            settings=config["spectrogram"],
            windows=windowing(),
            on_silent=config["on_silent"],
            math=code_digest(*SPECTROGRAM_CODE),
        run:
            from workers import run_job

            run_job(
                input.audio,
                output.npy,
                output.png,
                params.settings,
                log[0],
                workflow.cores,
                params.windows,
                config["file_timeout"],
                config["on_bad_audio"],
                params.on_silent,
            )
