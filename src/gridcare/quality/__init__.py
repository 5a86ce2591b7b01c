"""Quality, statistics and the command wall (C10): every figure management judges service by."""
