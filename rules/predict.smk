# Classify new recordings: `predict: {name: folder}` in the configuration, then ask for
# results/predictions/{name}.csv. Uses the NPY model with the spectrogram settings stored in its
# provenance (not today's config). A model of windows scores every window of each recording and
# also writes a Raven selection table per recording under results/predictions/{name}.selections/.


rule predict:
    input:
        model="results/model_npy.keras",
        provenance="results/model_npy.provenance.json",
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
