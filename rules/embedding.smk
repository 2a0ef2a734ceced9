# The birdnet branch (branches: [.., birdnet]; docs/birdnet.md): BirdNET v2.4's 1,024-value
# embedding of every clip (or of every window, with windows:) in results/embeddings/{id}.npy, and
# the branch's manifest. The jobs are the spectrogram jobs' batches (one job per file with
# files_per_job: 1), written as they are: `run:` rules in threads of the Snakemake process that
# hand their files to its pool of warm workers (scripts/workers.py), whose fork server has loaded
# the BirdNET interpreter once (scripts/birdnet_preload.py). BirdNET reads each file at 48 kHz
# from the audio itself, not from a spectrogram: no spectrogram setting is a params value here.
if EMBEDDING:
    for (
        embedding_rule,
        audio,
        embedding_outputs,
        job_log,
        content,
        rule_resources,
    ) in embedding_rules():

        rule:
            name:
                embedding_rule
            input:
                audio=audio,
            output:
                embeddings=embedding_outputs,
            log:
                job_log,
            group:
                "spectrograms"
            resources:
                **rule_resources,
            params:
                windows=windowing(),
                model=birdnet.VERSION,
                code=code_digest("birdnet.py", "audio_io.py"),
                content=content,
            run:
                compute_embeddings(input, output, params, log)

    localrules:
        manifest_birdnet,

    # One row per clip (or window) of the catalog, as the NPY manifest's rows, with the path of its
    # embedding; a localrule. Its inputs are the embeddings themselves (checked to be embeddings).
    rule manifest_birdnet:
        input:
            catalog="results/catalog.csv",
            embeddings=embedding_files(),
        output:
            manifest=EMBEDDINGS["manifest"],
        log:
            "logs/manifest_birdnet.log",
        params:
            folder=lambda wildcards: EMBEDDINGS["folder"],
        run:
            from make_manifest import run_embedding_rule

            run_embedding_rule(input, output, params, log)
