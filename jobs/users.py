"""Make users and their interactions: synthetic users with hidden tastes, the dataset's real users, profiles.

--source synthetic (default) draws --users N users from a documented generative model over the catalogue
(tags, colours, objects, orientation of each photo, as far as the lake knows them): hidden tastes, a
heavy-tailed activity level, and views, likes and downloads chosen by taste, popularity and noise.
Deterministic per --seed. --source conversions turns the release's conversions (anonymous user -> photo
downloaded after a search) into users and interactions; both does both. Writes users, user_tastes (the
synthetic users' hidden tastes), interactions and profiles.
"""

from photolake.cli import run_job
from photolake.stage import stage_job
from photolake.stages import STAGES


def main(argv=None) -> int:
    return stage_job(STAGES["users"], __doc__, argv)


if __name__ == "__main__":
    run_job("users", main)
