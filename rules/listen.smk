# Listening check: `snakemake --cores 1 results/listen/{id}.wav` turns the NPY spectrogram of
# one file back into audio (Griffin-Lim), to hear what the model sees. Built only when asked for.


rule listen:
    input:
        npy=listen_spectrogram,
        audio=audio_path,
    output:
        "results/listen/{id}.wav",
    log:
        "logs/listen/{id}.log",
    conda:
        "../envs/audio.yaml"
    params:
        settings=config["spectrogram"],
        n_iter=32,
        math=code_digest(*SPECTROGRAM_CODE, "inversion.py"),
    script:
        "../scripts/listen.py"
