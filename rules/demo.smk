rule demo_audio:
    output:
        demo_outputs(),
    params:
        out_dir=DEMO_DIR,
    log:
        "logs/demo_audio.log",
    script:
        "../scripts/demo_data.py"
