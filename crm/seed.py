"""Demo data (placeholder, replaced below)."""


def seed(scale: str, random_seed: int, echo) -> None:
    echo("not yet")
