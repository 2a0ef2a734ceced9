"""Stack every array of the NPY manifest into one memory-mappable file for training."""

import sys

import loaders

if "snakemake" in globals():
    sys.stderr = open(snakemake.log[0], "w")
    loaders.stack_npy(snakemake.input.manifest, snakemake.output[0])
