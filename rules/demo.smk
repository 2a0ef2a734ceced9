rule demo_audio:
    output:
        demo_outputs(),
    log:
        "logs/demo_audio.log",
    conda:
        "../envs/audio.yaml"
    params:
        out_dir=audio_root,
        kind=demo_kind(),
    script:
        "../scripts/demo_data.py"
