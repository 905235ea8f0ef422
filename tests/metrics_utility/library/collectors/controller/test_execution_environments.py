from metrics_utility.library.collectors.controller import execution_environments

from .conftest import read_csv


def test_full_table(reader_conn, gather):
    rows = read_csv(gather(execution_environments, db=reader_conn))
    want = reader_conn.execute('SELECT id, name, image, managed FROM main_executionenvironment ORDER BY id').fetchall()
    assert [(int(r['id']), r['name'], r['image'], r['managed'] == 't') for r in rows] == want
    assert list(rows[0]) == [
        'id',
        'created',
        'modified',
        'description',
        'image',
        'managed',
        'created_by_id',
        'credential_id',
        'modified_by_id',
        'organization_id',
        'name',
        'pull',
    ]
