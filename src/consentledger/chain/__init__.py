"""The chain side: compile, deploy, typed contract client, EIP-712 typed data, log decoding."""
