# Classify new recordings: `predict: {name: folder}` in the configuration, then ask for
# results/predictions/{name}.csv. Uses the NPY model (the PNG one when branches has no npy) with
# the spectrogram settings stored in its provenance (not today's config). A model of windows
# scores every window of each recording and also writes a Raven selection table per recording
# under results/predictions/{name}.selections/.


rule predict:
    input:
        model=f"results/model_{model_branch()}.keras",
        provenance=f"results/model_{model_branch()}.provenance.json",
        audio=prediction_audio,
    output:
        **prediction_outputs(),
    log:
        "logs/predict_{name}.log",
    conda:
        "../envs/train.yaml"
    params:
        folder=prediction_folder,
    script:
        "../scripts/predict.py"
