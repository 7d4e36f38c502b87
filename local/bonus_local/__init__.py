"""Local tools: the embedded AWS emulation built from template.yaml, `bonus replay`,
`bonus demo`, and the operator commands. Not deployed: nothing here is in a layer."""
