# Training inputs of each branch and the CNN per branch: the NPY manifest's arrays stacked
# into one memory-mappable file, the legacy pixel table of the PNG branch, then train.
# stack_npy and train_data read the files their manifest lists; the manifest is their input (it
# is rewritten whenever one of those files is), not the files again: listed here too, they cost
# 50,000 more input files per rule at every parse and dry run of a 50,000-file dataset.


if "npy" in BRANCHES:

    rule stack_npy:
        input:
            manifest=BRANCHES["npy"]["manifest"],
        output:
            temp(BRANCHES["npy"]["training"]["stack"]),
        log:
            "logs/stack_npy.log",
        conda:
            "../envs/audio.yaml"
        script:
            "../scripts/stack_npy.py"


if "png" in BRANCHES:

    rule train_data:
        input:
            manifest=BRANCHES["png"]["manifest"],
        output:
            BRANCHES["png"]["training"]["data"],
        log:
            "logs/train_data.log",
        benchmark:
            "results/benchmarks/train_data.tsv"
        conda:
            "../envs/audio.yaml"
        script:
            "../scripts/legacy_pixels.py"


# Threads and memory are Snakemake's: change them with --set-threads train=8 and
# --set-resources train:mem_mb=16000 (or in a profile). Neither makes Snakemake retrain a model,
# but the thread count is part of the model: another count can give other weights (TensorFlow
# splits its sums over the threads). The provenance records it; to retrain with new threads,
# add --forcerun train. No params entry: Snakemake leaves a params function of `threads` out of
# its rerun triggers (docs/training.md, "Which runs give the same weights"). One thread by
# default, so that two cores train both branches side by side: the small CNN gains little from a
# second thread (40 against 45-52 ms per step of 32 FSDD clips, measured).
rule train:
    input:
        unpack(training_inputs),
    output:
        model="results/model_{branch}.keras",
        provenance="results/model_{branch}.provenance.json",
        history="results/{branch}/history.csv",
        metrics="results/{branch}/metrics.json",
        confusion="results/{branch}/confusion_matrix.csv",
        misclassified="results/{branch}/misclassified.csv",
        scores="results/{branch}/scores.csv",
        per_group="results/{branch}/per_group.csv",
    log:
        "logs/train_{branch}.log",
    benchmark:
        "results/benchmarks/train_{branch}.tsv"
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        training=model_training(),
        channels=CHANNELS,
        config=lambda wildcards: provenance_config(wildcards.branch),
        repo=repository(),
        code=code_digest(
            "model.py",
            "loaders.py",
            "evaluation.py",
            "baseline.py",
            "augment.py",
            "detections.py",
            "labelling.py",
            "tables.py",
        ),
    script:
        "../scripts/train.py"


# Opt-in (training.learning_curve; a default target only then): the CNN and the baseline trained
# again on nested shares of the train split, measured on the same val and test; the full split's
# row is the model's own metrics.
rule learning_curve:
    input:
        unpack(learning_curve_inputs),
        metrics="results/{branch}/metrics.json",
    output:
        "results/{branch}/learning_curve.csv",
    log:
        "logs/learning_curve_{branch}.log",
    benchmark:
        "results/benchmarks/learning_curve_{branch}.tsv"
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120 * max(1, len(config["training"]["learning_curve"])),
    params:
        training=config["training"],
        channels=CHANNELS,
        split_by=config["split"]["by"],
        code=code_digest(
            "learning_curve.py",
            "model.py",
            "loaders.py",
            "evaluation.py",
            "baseline.py",
            "augment.py",
            "detections.py",
            "labelling.py",
            "tables.py",
        ),
    script:
        "../scripts/learning_curve.py"
