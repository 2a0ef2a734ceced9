# Classify new recordings: `predict: {name: folder}` in the configuration, then ask for
# results/predictions/{name}.csv. Uses the NPY model (the PNG one when branches has no npy) with
# the spectrogram settings stored in its provenance (not today's config). The folder's recordings
# are cut, in path order, into batches of about predict_seconds_per_job seconds of audio
# (prediction_plan in common.smk); each batch is one job writing its own rows, and with a model of
# windows its detections and a Raven selection table per recording, so the batches run in parallel
# on a cluster and a killed run redoes only the unfinished ones. Each job's cluster runtime follows
# the audio it holds. The merged table, Raven tables, detections and their count per site, class
# and hour are a cheap aggregate (predictions).


rule predict:
    input:
        model=f"results/model_{model_branch()}.keras",
        provenance=f"results/model_{model_branch()}.provenance.json",
        audio=prediction_audio,
    output:
        **prediction_batch_outputs(),
    log:
        "logs/predict/{name}/{batch}.log",
    benchmark:
        "results/benchmarks/predict/{name}/{batch}.tsv"
    wildcard_constraints:
        batch=r"p\d+",
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        runtime=prediction_runtime,
        mem_mb=batches.PREDICT_MEM_MB,
    params:
        folder=prediction_folder,
        places=prediction_places,
        threshold=config["windows"]["threshold"],
    script:
        "../scripts/predict.py"


rule predictions:
    input:
        csvs=prediction_batch_files("csv"),
        detections=(
            prediction_batch_files("detections") if windowing() is not None else []
        ),
        selections=(
            prediction_batch_files("selections") if windowing() is not None else []
        ),
    output:
        **prediction_outputs(),
    log:
        "logs/predictions_{name}.log",
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/merge_predictions.py"
