# Spectrograms of every audio file, both branches from one computation. Every spectrogram is
# a declared output. With files_per_job: 1 there is one job per file; otherwise the files are
# grouped into batches by a hash of their id (see scripts/audio_files.py: plan_batches), one
# rule per batch, so Snakemake's per-job bookkeeping is paid per batch instead of per file.
# The jobs run in threads of the Snakemake process and hand their files to its pool of warm
# worker processes (make_spectrograms, scripts/workers.py), so every core computes.
# The group "spectrograms" only matters on a cluster (Snakemake ignores groups locally):
# profiles/slurm bundles many batches into one cluster job with group-components.
if FILES_PER_JOB == 1:

    rule spectrogram:
        input:
            audio=audio_path,
        output:
            npy="results/specs/{id}.npy",
            png="results/spect/{id}.png",
        log:
            "logs/spectrogram/{id}.log",
        group:
            "spectrograms"
        resources:
            runtime=5,
        params:
            settings=config["spectrogram"],
            math=code_digest("audio_processing.py"),
        run:
            make_spectrograms(
                [input.audio], [output.npy], [output.png], params.settings, log[0]
            )

else:
    for batch in BATCHES:

        rule:
            name:
                f"spectrogram_{batch}"
            input:
                audio=batch_audio(batch),
            output:
                npy=batch_outputs(batch, "npy"),
                png=batch_outputs(batch, "png"),
            log:
                f"logs/spectrogram/{batch}.log",
            group:
                "spectrograms"
            resources:
                runtime=5,
            params:
                settings=config["spectrogram"],
                math=code_digest("audio_processing.py"),
            run:
                make_spectrograms(
                    input.audio, output.npy, output.png, params.settings, log[0]
                )
