"""Package end to end with fake collectors: contents, metadata, placement, limits, names, failures, cleanup, secrets.

Mirrors insights-analytics-collector's suite where it applies (JSON-only → 1 package; small CSVs → 1 package with
exact sizes; one CSV split by size → one package per part; several collections → exact placement; manifest and
status content), with `max_data_size=1000` as there.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import tarfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from metrics_utility.library.package import Package, PackageError, PackageFile, parse_tarball_name, read_package
from metrics_utility.library.package.status import HEADER, parse_status_csv

COMMON = {'./config.json', './data_collection_status.csv', './manifest.json', './package_info.json'}


def build(kit: SimpleNamespace, out: Path, collectors: list, **kwargs) -> tuple[Package, list[PackageFile]]:
    kwargs.setdefault('config', {'install_uuid': kit.UUID})
    kwargs.setdefault('max_data_size', 1000)
    package = Package(collectors=collectors, since=kit.SINCE, until=kit.UNTIL, output_dir=out, **kwargs)
    files = list(package.build())
    for file in files:
        kit.validate(file.path)
        read_package(file.path)  # checksums, row counts, manifest coverage
    return package, files


def data_members(kit: SimpleNamespace, file: PackageFile) -> dict[str, bytes]:
    return {k: v for k, v in kit.members(file.path).items() if k not in COMMON}


def test_json_only_makes_one_package_with_flat_manifest(kit: SimpleNamespace, out: Path) -> None:
    package, files = build(
        kit,
        out,
        [kit.json_a(payload={'a': 1}), kit.json_b(payload={'when': kit.SINCE})],
        config=kit.fake_config(content={'install_uuid': kit.UUID}),
    )
    assert len(files) == 1
    content = kit.members(files[0].path)
    assert list(content) == [
        './fake_json_a.json',
        './fake_json_b.json',
        './config.json',
        './data_collection_status.csv',
        './manifest.json',
        './package_info.json',
    ]
    assert json.loads(content['./manifest.json']) == {
        'fake_json_a.json': '1.2',
        'fake_json_b.json': '2.0',
        'config.json': '2.0',
        'data_collection_status.csv': '1.0',
        'package_info.json': '1.0',
    }
    assert json.loads(content['./fake_json_b.json']) == {'when': '2024-02-29T00:00:00+00:00'}
    rows = parse_status_csv(content['./data_collection_status.csv'])
    window = ('2024-02-29 00:00:00+00:00', '2024-03-01 00:00:00+00:00')  # collectors without since/until: the package's
    assert [(r['file_name'], r['status'], r['since'], r['until']) for r in rows] == [
        ('fake_json_a.json', 'ok', *window),
        ('fake_json_b.json', 'ok', *window),
    ]
    assert content['./data_collection_status.csv'].split(b'\r\n')[0] == ','.join(HEADER).encode()
    assert [r.status for r in package.runs] == ['ok', 'ok']


def test_status_rows_carry_the_collector_window(kit: SimpleNamespace, out: Path, work: Path) -> None:
    _, files = build(kit, out, [kit.csv_a(sizes=[100], output_dir=work), kit.csv_unwindowed(sizes=[100], since=None)])
    rows = parse_status_csv(kit.members(files[0].path)['./data_collection_status.csv'])
    assert [(r['file_name'], r['since'], r['until'], r['status'], r['elapsed']) for r in rows] == [
        ('fake_csv_a.csv', '2024-02-29 00:00:00+00:00', '2024-03-01 00:00:00+00:00', 'ok', '0'),
        ('fake_csv_unwindowed.csv', '', '2024-03-01 00:00:00+00:00', 'ok', '0'),  # since=None: empty, as upstream
    ]


def test_a_collector_that_ran_earlier_keeps_its_own_time(kit: SimpleNamespace, out: Path, work: Path) -> None:
    """A collector function with `ran` (collected ahead of packaging, gather/prefetch.py): the status row and the
    run carry when it started and how long it took, not the moment Package asked for the result."""
    collected = kit.csv_a(sizes=[100], output_dir=work)
    files_of = collected.func

    class RanEarlier:
        ran = (datetime(2024, 3, 1, 0, 5, tzinfo=UTC), 12.75)

        def __call__(self, **params):
            return files_of(**params)

    package, files = build(kit, out, [replace(collected, func=RanEarlier())])
    assert (package.runs[0].started, package.runs[0].elapsed) == RanEarlier.ran
    rows = parse_status_csv(kit.members(files[0].path)['./data_collection_status.csv'])
    assert [(r['collection_start_timestamp'], r['elapsed']) for r in rows] == [('2024-03-01 00:05:00+00:00', '12')]


def test_small_csvs_share_one_package_with_exact_sizes(kit: SimpleNamespace, out: Path, work: Path) -> None:
    collectors = [
        kit.csv_a(sizes=[100], output_dir=work / 'a'),
        kit.csv_b(sizes=[200], output_dir=work / 'b'),
        kit.csv_c(sizes=[300], output_dir=work / 'c'),
    ]
    _, files = build(kit, out, collectors)
    assert len(files) == 1
    data = data_members(kit, files[0])
    assert {k: len(v) for k, v in data.items()} == {
        './fake_csv_a.csv': 100,
        './fake_csv_b.csv': 200,
        './fake_csv_c.csv': 300,
    }
    assert files[0].data_size == 600
    assert files[0].keys == ('fake_csv_a', 'fake_csv_b', 'fake_csv_c')
    info = json.loads(kit.members(files[0].path)['./package_info.json'])
    assert info['files']['fake_csv_b.csv']['rows'] == 19 and info['files']['fake_csv_b.csv']['size'] == 200


def test_one_csv_split_by_size_spreads_over_packages(kit: SimpleNamespace, out: Path, work: Path) -> None:
    _, files = build(kit, out, [kit.big_table(sizes=[1000] * 10, output_dir=work)])
    assert [f.index for f in files] == list(range(10))
    assert all(f.count == 10 for f in files)
    for part, file in enumerate(files, start=1):
        assert list(data_members(kit, file)) == ['./fake_big_table.csv']  # one part per package, readers' name
        entry = json.loads(kit.members(file.path)['./package_info.json'])['files']['fake_big_table.csv']
        assert (entry['part'], entry['parts'], entry['size'], entry['rows']) == (part, 10, 1000, 99)
        assert file.name.endswith(f'-{file.index}-fake_big_table.tar.gz')


def test_several_collections_are_placed_first_fit(kit: SimpleNamespace, out: Path, work: Path) -> None:
    # insights-analytics-collector's example minus slicing: big_table_2 3×800 B, csv_collection_1 100 B, a JSON.
    collectors = [
        kit.json_a(payload={'k': 'v'}),
        kit.big_table(sizes=[800, 800, 800], output_dir=work / 'b'),
        kit.csv_a(sizes=[100], output_dir=work / 'a'),
        kit.csv_b(sizes=[200], output_dir=work / 'c'),
    ]
    package, files = build(kit, out, collectors)
    placed = [sorted(k.removeprefix('./') for k in data_members(kit, f)) for f in files]
    # json (~15 B) + part 1 (800) + csv_a (100) fill package 0; csv_b (200) exactly fills package 1 (800 + 200).
    assert placed == [
        ['fake_big_table.csv', 'fake_csv_a.csv', 'fake_json_a.json'],
        ['fake_big_table.csv', 'fake_csv_b.csv'],
        ['fake_big_table.csv'],
    ]
    assert [r.files[0].package for r in package.runs] == [0, 0, 0, 1]
    assert [f.package for f in package.runs[1].files] == [0, 1, 2]
    assert [f.name.rsplit('-', 1)[1] for f in files] == [
        'fake_json_a.tar.gz',
        'fake_big_table.tar.gz',
        'fake_big_table.tar.gz',
    ]


@pytest.mark.parametrize('seed', range(5))
def test_size_limit_holds_for_random_outputs(kit: SimpleNamespace, out: Path, work: Path, seed: int) -> None:
    rng = random.Random(seed)
    fakes = [kit.csv_a, kit.csv_b, kit.csv_c, kit.big_table]
    collectors = [
        fake(sizes=[rng.randrange(1, 130) * 10 for _ in range(rng.randrange(0, 6))], output_dir=work / str(i))
        for i, fake in enumerate(fakes)
    ]
    package, files = build(kit, out, collectors)
    for file in files:
        data = data_members(kit, file)
        size = sum(len(v) for v in data.values())
        assert size == file.data_size
        assert size <= 1000 or len(data) == 1, f'{file.name} holds {size} bytes in {len(data)} files'
    placed = [(r.key, f.part) for r in package.runs for f in r.files]
    in_packages = [(k.removeprefix('./').removesuffix('.csv'), f) for f in files for k in data_members(kit, f)]
    assert len(placed) == len(in_packages) and {k for k, _ in placed} == {k for k, _ in in_packages}


def test_a_file_over_the_limit_gets_a_package_of_its_own(kit: SimpleNamespace, out: Path, work: Path) -> None:
    collectors = [
        kit.csv_a(sizes=[100], output_dir=work / 'a'),
        kit.big_table(sizes=[2500], output_dir=work / 'b'),
        kit.csv_b(sizes=[100], output_dir=work / 'c'),
    ]
    _, files = build(kit, out, collectors)
    assert [sorted(data_members(kit, f)) for f in files] == [
        ['./fake_csv_a.csv', './fake_csv_b.csv'],
        ['./fake_big_table.csv'],
    ]
    assert files[1].data_size == 2500


def test_names_are_deterministic_and_follow_metrics_utility(kit: SimpleNamespace, tmp_path: Path) -> None:
    def run(tag: str) -> list[PackageFile]:
        (tmp_path / tag).mkdir()
        collectors = [
            kit.json_a(payload={'x': 1}),
            kit.big_table(sizes=[600, 600, 600], output_dir=tmp_path / f'w{tag}'),
            kit.csv_a(sizes=[300], output_dir=tmp_path / f'a{tag}'),
        ]
        return build(kit, tmp_path / tag, collectors)[1]

    first, second = run('1'), run('2')
    assert [f.name for f in first] == [f.name for f in second]
    assert [f.object_name for f in first] == [f.object_name for f in second]
    assert first[0].name == f'{kit.UUID}-2024-02-29-000000+0000-2024-03-01-000000+0000-0-fake_json_a.tar.gz'
    assert first[0].object_name == f'data/2024/02/29/{first[0].name}'
    parsed = parse_tarball_name(first[2].name)
    assert parsed is not None and (parsed.install_uuid, parsed.index, parsed.key) == (kit.UUID, 2, 'fake_big_table')
    for a, b in zip(first, second, strict=True):  # same data, same members (only run id and timings differ)
        assert data_members(kit, a) == data_members(kit, b)
    assert first[0].run_id != second[0].run_id


def test_repackaging_into_the_same_directory_replaces_packages(kit: SimpleNamespace, out: Path, work: Path) -> None:
    names = [f.name for f in build(kit, out, [kit.csv_a(sizes=[100], output_dir=work / '1')])[1]]
    names2 = [f.name for f in build(kit, out, [kit.csv_a(sizes=[100], output_dir=work / '2')])[1]]
    assert names == names2 and sorted(p.name for p in out.iterdir()) == names


def test_failed_collectors_are_recorded_and_packaging_goes_on(kit: SimpleNamespace, out: Path, work: Path) -> None:
    collectors = [
        kit.failing_csv(message='query failed', output_dir=work / 'f'),
        kit.csv_a(sizes=[100], output_dir=work / 'a'),
        kit.failing_json(message='unreachable'),
        kit.wrong_result(output_dir=work / 'w'),
    ]
    package, files = build(kit, out, collectors)
    assert len(files) == 1
    content = kit.members(files[0].path)
    rows = parse_status_csv(content['./data_collection_status.csv'])
    assert [(r['file_name'], r['status']) for r in rows] == [
        ('fake_failing_csv.csv', 'failed'),  # metrics-utility leaves failed CSV collectors out (weakness #22)
        ('fake_csv_a.csv', 'ok'),
        ('fake_failing_json.json', 'failed'),
        ('fake_wrong_result.csv', 'failed'),
    ]
    assert set(json.loads(content['./manifest.json'])) == {
        'fake_csv_a.csv',
        'config.json',
        'data_collection_status.csv',
        'package_info.json',
    }
    info = json.loads(content['./package_info.json'])
    assert [(c['key'], c['status'], c['error_type']) for c in info['collectors']] == [
        ('fake_failing_csv', 'failed', 'RuntimeError'),
        ('fake_csv_a', 'ok', None),
        ('fake_failing_json', 'failed', 'ConnectionError'),
        ('fake_wrong_result', 'failed', 'CollectorResultError'),
    ]
    assert package.runs[0].error == 'query failed'  # for the caller's logs and summary
    assert b'query failed' not in kit.raw_bytes(files[0].path)  # messages can carry anything: never packaged
    assert files[0].name.endswith('-0-fake_failing_csv.tar.gz')


def test_empty_results_are_recorded_in_package_zero(kit: SimpleNamespace, out: Path, work: Path) -> None:
    package, files = build(kit, out, [kit.csv_a(sizes=[], output_dir=work), kit.json_a(payload={})])
    assert len(files) == 1 and data_members(kit, files[0]) == {}
    rows = parse_status_csv(kit.members(files[0].path)['./data_collection_status.csv'])
    assert [(r['file_name'], r['status']) for r in rows] == [('fake_csv_a.csv', 'ok'), ('fake_json_a.json', 'ok')]
    assert [r.status for r in package.runs] == ['empty', 'empty']
    assert files[0].name.endswith('-0-fake_csv_a.tar.gz')


def test_no_collectors_still_records_the_run(kit: SimpleNamespace, out: Path) -> None:
    _, files = build(kit, out, [])
    assert len(files) == 1 and files[0].name.endswith('-0-config.tar.gz')
    assert set(kit.members(files[0].path)) == COMMON


def test_collector_files_are_removed_after_packing(kit: SimpleNamespace, out: Path, work: Path) -> None:
    collectors = [
        kit.big_table(sizes=[700, 700], output_dir=work / 'b'),
        kit.failing_csv(output_dir=work / 'f'),
        kit.wrong_result(output_dir=work / 'w'),
    ]
    build(kit, out, collectors)
    assert [p for p in work.rglob('*') if p.is_file() and p.name != 'partial.csv'] == []
    auto = kit.csv_a(sizes=[100])  # no output_dir: the collector contract makes a temporary one
    directory = auto.params['output_dir']
    assert directory.is_dir()
    build(kit, out, [auto])
    assert not directory.exists()


def test_files_and_partial_packages_are_removed_when_packaging_aborts(
    kit: SimpleNamespace, out: Path, work: Path
) -> None:
    package = Package(
        config={'install_uuid': kit.UUID},
        collectors=[kit.big_table(sizes=[600, 600], output_dir=work), kit.interrupted()],
        since=kit.SINCE,
        until=kit.UNTIL,
        output_dir=out,
        max_data_size=1000,
    )
    with pytest.raises(KeyboardInterrupt):
        list(package.build())
    assert list(out.iterdir()) == [] and list(work.iterdir()) == []


def test_packages_not_taken_by_the_caller_are_removed(kit: SimpleNamespace, out: Path, work: Path) -> None:
    package = Package(
        config={'install_uuid': kit.UUID},
        collectors=[kit.big_table(sizes=[900] * 3, output_dir=work)],
        since=kit.SINCE,
        until=kit.UNTIL,
        output_dir=out,
        max_data_size=1000,
    )
    builder = package.build()
    first = next(builder)
    builder.close()  # the caller stops, e.g. because shipping failed
    assert list(out.iterdir()) == [first.path]


def test_secrets_never_reach_a_package(kit: SimpleNamespace, out: Path, work: Path) -> None:
    collectors = [kit.big_table(sizes=[900, 900], output_dir=work), kit.failing_json(message=kit.SECRETS[1])]
    package, files = build(kit, out, collectors, config=kit.CONFIG, billing_provider_params=kit.S3_PARAMS)
    assert len(files) == 2
    for file in files:
        whole = kit.raw_bytes(file.path)
        for secret in kit.SECRETS:
            assert secret.encode() not in whole, f'{secret} found in {file.name}'
        config = json.loads(kit.members(file.path)['./config.json'])
        assert config['billing_provider_params'] == {
            'ship_path': 'metrics',
            'bucket_name': 'billing',
            'bucket_endpoint': 'https://s3.example.com',
            'bucket_region': 'eu-1',
        }
        assert config['controller_url_base'] == 'https://controller.example.com/'
        assert config['subscription_name'] is None
    assert package.dropped_config_keys == [
        'REDHAT_PASSWORD',
        'subscription_name',
        'billing_provider_params.bucket_access_key',
        'billing_provider_params.bucket_secret_key',
        'billing_provider_params.candlepin_key_pem',
    ]


def test_every_package_carries_the_same_config(kit: SimpleNamespace, out: Path, work: Path) -> None:
    _, files = build(kit, out, [kit.big_table(sizes=[1000] * 3, output_dir=work)], config=kit.CONFIG)
    configs = {kit.members(f.path)['./config.json'] for f in files}
    assert len(files) == 3 and len(configs) == 1


def test_config_collector_is_gathered_and_its_failure_stops_the_run(kit: SimpleNamespace, out: Path) -> None:
    _, files = build(kit, out, [], config=kit.fake_config(content=kit.CONFIG))
    assert json.loads(kit.members(files[0].path)['./config.json'])['install_uuid'] == kit.UUID
    package = Package(
        config=kit.fake_config(fail=True), collectors=[], since=kit.SINCE, until=kit.UNTIL, output_dir=out
    )
    with pytest.raises(PackageError, match='config collector failed'):
        list(package.build())


def test_readable_by_tarfile_and_gnu_tar(kit: SimpleNamespace, out: Path, work: Path, tmp_path: Path) -> None:
    if shutil.which('tar') is None:
        pytest.skip('GNU tar is not installed')
    _, files = build(kit, out, [kit.csv_a(sizes=[500], output_dir=work), kit.json_a(payload={'a': 'ü'})])
    listing = subprocess.run(['tar', '-tzf', str(files[0].path)], check=True, capture_output=True, text=True).stdout
    assert listing.split() == list(kit.members(files[0].path))
    target = tmp_path / 'x'
    target.mkdir()
    subprocess.run(['tar', '-xzf', str(files[0].path), '-C', str(target)], check=True)
    assert (target / 'fake_csv_a.csv').read_bytes() == kit.members(files[0].path)['./fake_csv_a.csv']
    with tarfile.open(files[0].path, 'r:gz') as tar:
        assert all(m.isfile() and m.mode == 0o644 and m.mtime == int(kit.UNTIL.timestamp()) for m in tar)


@pytest.mark.parametrize('compression', ['isal-0', 'isal-1', 'isal-2', 'gzip-1', 'gzip-6'])
def test_every_compression_writes_the_same_content(
    kit: SimpleNamespace, out: Path, work: Path, compression: str
) -> None:
    _, files = build(
        kit, out, [kit.csv_a(sizes=[5000], output_dir=work)], compression=compression, max_data_size=10_000
    )
    info = json.loads(kit.members(files[0].path)['./package_info.json'])
    assert info['compression'] == compression
    expected = hashlib.sha256(kit.write_csv(work / 'again.csv', 5000).read_bytes()).hexdigest()
    assert info['files']['fake_csv_a.csv']['sha256'] == expected


def test_metrics_utility_reader_finds_its_files(kit: SimpleNamespace, out: Path, work: Path, tmp_path: Path) -> None:
    """Upstream's extractor extracts members into a directory and reads `<key>.csv`, config.json and the status."""
    _, files = build(kit, out, [kit.csv_a(sizes=[200], output_dir=work)], config=kit.CONFIG)
    target = tmp_path / 'extract'
    with tarfile.open(files[0].path, 'r:*') as tar:
        tar.extractall(target, filter='data')
    assert (target / 'fake_csv_a.csv').read_text().startswith('seq0,pad0\n')
    assert json.loads((target / 'config.json').read_text())['install_uuid'] == kit.UUID
    assert (target / 'data_collection_status.csv').read_text().startswith(','.join(HEADER))


@pytest.mark.parametrize(
    ('kwargs', 'message'),
    [
        ({'since': 'UNTIL'}, 'must be before'),
        ({'naive': True}, 'timezone-aware'),
        ({'max_data_size': 0}, 'positive whole number'),
        ({'compression': 'zstd-3'}, 'not supported'),
        ({'install_uuid': '../etc'}, 'cannot be used in object names'),
        ({'config': {}}, 'no install_uuid'),
        ({'duplicate': True}, 'given twice'),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message(
    kit: SimpleNamespace, out: Path, kwargs: dict, message: str
) -> None:
    params = {
        'config': {'install_uuid': kit.UUID},
        'collectors': [kit.json_a()],
        'since': kit.SINCE,
        'until': kit.UNTIL,
        'output_dir': out,
    }
    if kwargs.pop('since', None):
        params['since'] = kit.UNTIL
    if kwargs.pop('naive', None):
        params['until'] = kit.UNTIL.replace(tzinfo=None)
    if kwargs.pop('duplicate', None):
        params['collectors'] = [kit.json_a(), kit.json_a()]
    params.update(kwargs)
    with pytest.raises(PackageError, match=message):
        list(Package(**params).build())
    assert os.listdir(out) == []


def test_a_package_builds_once(kit: SimpleNamespace, out: Path) -> None:
    package = Package(
        config={'install_uuid': kit.UUID}, collectors=[], since=kit.SINCE, until=kit.UNTIL, output_dir=out
    )
    list(package.build())
    with pytest.raises(PackageError, match='already built'):
        list(package.build())
