"""Period data over several installations: one set of daily rollups per installation, merged for the report.

Why per installation: with several sources (`build-report --also-from`) the packages of a day come from storages
that change independently. Keeping `rollups/installations/<install_uuid>/YYYY/MM/DD/` in the main storage means a
new package of one controller rebuilds only that controller's day, and combining different sets of sources never
overwrites another combination's rollups. Every rollup is keyed by install_uuid and aggregates associatively, so
merging the installations' regrouped periods equals regrouping all their days at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from metrics_utility.library.extract.multi import InstallationView, installation_rollups, installations
from metrics_utility.library.storage import Storage

from .store import ROLLUPS, PeriodData, RollupStore


def merge_periods(periods: Iterable[PeriodData], names: set[str]) -> PeriodData:
    """One PeriodData from several installations' (problems concatenated, days united and sorted)."""
    rollups = {name: ROLLUPS[name]() for name in names}
    merged = PeriodData({})
    with_data, rebuilt = set(), set()
    for period in periods:
        merged.problems.extend(period.problems)
        with_data.update(period.days_with_data)
        rebuilt.update(period.days_rebuilt)
        for name in names:
            if name in period.frames:
                rollups[name].add_frame(period.frames[name])
    merged.frames = {name: rollup.regroup() for name, rollup in rollups.items()}
    merged.days_with_data, merged.days_rebuilt = sorted(with_data), sorted(rebuilt)
    return merged


def load_by_installation(
    storage: Storage, since: date, until: date, names: set[str], *, force: bool = False, persist: bool = True
) -> PeriodData:
    """Like `RollupStore(storage).load(…)`, with the rollups of each installation kept (and rebuilt) apart."""
    periods = []
    for install in installations(storage, since, until):
        store = RollupStore(InstallationView(storage, install), prefix=installation_rollups(install), persist=persist)
        periods.append(store.load(since, until, names, force=force))
    return merge_periods(periods, set(names))
