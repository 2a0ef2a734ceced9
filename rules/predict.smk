# Classify new recordings: `predict: {name: folder}` in the configuration, then ask for
# results/predictions/{name}.csv. Uses the NPY model with the spectrogram settings stored in its
# provenance (not today's config).


rule predict:
    input:
        model="results/model_npy.keras",
        provenance="results/model_npy.provenance.json",
        audio=prediction_audio,
    output:
        "results/predictions/{name}.csv",
    log:
        "logs/predict_{name}.log",
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/predict.py"
