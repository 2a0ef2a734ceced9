rule catalog:
    input:
        audio=all_audio(),
    output:
        catalog="results/catalog.csv",
        classes="results/classes.csv",
        summary="results/split_summary.csv",
        rejected="results/rejected.csv",
    log:
        "logs/catalog.log",
    conda:
        "../envs/audio.yaml"
    params:
        audio_dir=audio_root,
        labels=config["labels"],
        split=config["split"],
        rejected=rejected_files(),
    script:
        "../scripts/make_catalog.py"


rule manifest_npy:
    input:
        catalog="results/catalog.csv",
        specs=spec_files("npy"),
    output:
        "results/final_specs.csv",
    log:
        "logs/manifest_npy.log",
    conda:
        "../envs/audio.yaml"
    params:
        branch="npy",
        channels=config["spectrogram"]["channels"],
    script:
        "../scripts/make_manifest.py"


rule manifest_png:
    input:
        catalog="results/catalog.csv",
        specs=spec_files("png"),
    output:
        "results/final_spects.csv",
    log:
        "logs/manifest_png.log",
    conda:
        "../envs/audio.yaml"
    params:
        branch="png",
        channels=config["spectrogram"]["channels"],
    script:
        "../scripts/make_manifest.py"


rule train_data:
    input:
        manifest="results/final_spects.csv",
        pngs=spec_files("png"),
    output:
        "results/train_data.csv",
    log:
        "logs/train_data.log",
    benchmark:
        "results/benchmarks/train_data.tsv"
    conda:
        "../envs/audio.yaml"
    script:
        "../scripts/legacy_pixels.py"
