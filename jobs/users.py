"""Make users and their interactions: synthetic users with hidden tastes, the dataset's real users, profiles.

--source synthetic (default) draws --users N users from a documented generative model over the catalogue
(tags, colours, objects, orientation of each photo, as far as the lake knows them): hidden tastes, a
heavy-tailed activity level, and views, likes and downloads chosen by taste, popularity and noise.
Deterministic per --seed. --source conversions turns the release's conversions (anonymous user -> photo
downloaded after a search) into users and interactions; both does both. Writes users, user_tastes (the
synthetic users' hidden tastes), interactions and profiles.
"""

from photolake import stages
from photolake.cli import job_parser, resolve_config, run_job, run_step
from photolake.users.run import SOURCES

JOB = "users"


def main(argv=None) -> int:
    parser = job_parser(JOB, __doc__)
    parser.add_argument("--users", type=int, metavar="N", help="synthetic users to draw (default 1000)")
    parser.add_argument("--source", choices=SOURCES, help="where users come from (default synthetic)")
    parser.add_argument("--seed", type=int, metavar="S", help="random seed of the synthetic users (default 42)")
    args = parser.parse_args(argv)
    config = resolve_config(args, {"users.users": args.users, "users.source": args.source, "users.seed": args.seed})
    return run_step(JOB, config, stages.users)


if __name__ == "__main__":
    run_job(JOB, main)
