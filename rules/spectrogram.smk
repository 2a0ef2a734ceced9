rule spectrogram:
    input:
        audio=audio_path,
    output:
        npy="results/specs/{id}.npy",
        png="results/spect/{id}.png",
    log:
        "logs/spectrogram/{id}.log",
    params:
        settings=config["spectrogram"],
        math=code_digest("audio_processing.py"),
    run:
        make_spectrogram(input.audio, output.npy, output.png, params.settings, log[0])
