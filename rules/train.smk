rule stack_npy:
    input:
        manifest="results/final_specs.csv",
        specs=spec_files("npy"),
    output:
        temp("results/npy/features.npy"),
    log:
        "logs/stack_npy.log",
    conda:
        "../envs/audio.yaml"
    script:
        "../scripts/stack_npy.py"


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
    log:
        "logs/train_{branch}.log",
    benchmark:
        "results/benchmarks/train_{branch}.tsv"
    conda:
        "../envs/train.yaml"
    threads: config["training"]["threads"]
    resources:
        mem_mb=config["training"]["mem_mb"],
        runtime=120,
    params:
        training=config["training"],
        repo=repository(),
        code=code_digest("model.py", "loaders.py", "evaluation.py"),
    script:
        "../scripts/train.py"
