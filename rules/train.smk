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
# One rule for every model: `prefix` is "" for the default models (results/model_npy.keras),
# experiments/{name}/ for an experiment's, folds/{fold}/ (or experiments/{name}/folds/{fold}/)
# for a cross-validation fold's (see variants() in common.smk).
rule train:
    input:
        unpack(training_inputs),
    output:
        model="results/{prefix}model_{branch}.keras",
        provenance="results/{prefix}model_{branch}.provenance.json",
        history="results/{prefix}{branch}/history.csv",
        metrics="results/{prefix}{branch}/metrics.json",
        confusion="results/{prefix}{branch}/confusion_matrix.csv",
        misclassified="results/{prefix}{branch}/misclassified.csv",
        scores="results/{prefix}{branch}/scores.csv",
        per_group="results/{prefix}{branch}/per_group.csv",
    log:
        "logs/{prefix}train_{branch}.log",
    benchmark:
        "results/benchmarks/{prefix}train_{branch}.tsv"
    conda:
        "../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    params:
        training=model_training,
        channels=CHANNELS,
        config=provenance_config,
        fold=variant_fold,
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


# Cross-validation (split.folds): the fold of every file of the catalog, for the models of the
# folds. Cheap: a `run:` rule in the Snakemake process (a localrule).
rule folds:
    input:
        catalog="results/catalog.csv",
    output:
        "results/folds.csv",
    log:
        "logs/folds.log",
    params:
        folds=config["split"]["folds"],
        by=config["split"]["by"],
        seed=config["split"]["seed"],
        audio_dir=audio_root,
        table=fold_table(),
        table_content=(discovery.content_digest(fold_table()) if fold_table() else None),
    run:
        from make_folds import run_rule

        run_rule(input, output, params, log)


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
        baseline_branch=lambda wildcards: (
            listing_branch() if wildcards.branch == "birdnet" else None
        ),
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
