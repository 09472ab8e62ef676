import time

from django.core.management.base import BaseCommand

from bench.generator import PASSWORD, generate


class Command(BaseCommand):
    help = "Insert a benchmark data set: users, events (some recurring), shares and versions, in bulk."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=1000)
        parser.add_argument("--events", type=int, default=10_000)
        parser.add_argument("--recurring", type=float, default=0.1, help="share of recurring events")
        parser.add_argument("--shares", type=int, default=3, help="collaborators per event besides the owner")
        parser.add_argument("--versions", type=int, default=5, help="versions per event")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--prefix", default="bench", help="usernames are <prefix><n>")

    def handle(self, *args, **options):
        began = time.perf_counter()
        counts = generate(
            users=options["users"],
            events=options["events"],
            recurring_share=options["recurring"],
            shares_per_event=options["shares"],
            versions=options["versions"],
            seed=options["seed"],
            prefix=options["prefix"],
        )
        elapsed = time.perf_counter() - began
        self.stdout.write(
            f"{counts.users} users, {counts.events} events, {counts.permissions} permissions, "
            f"{counts.versions} versions in {elapsed:.1f} s (password for every user: {PASSWORD})"
        )
