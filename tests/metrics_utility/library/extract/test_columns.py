"""Collector CSVs are read as PostgreSQL's COPY CSV writes them: NULL is an unquoted empty field, nothing else.

The null tokens come from the libraries' own defaults (pyarrow's `ConvertOptions().null_values` and pandas'
`STR_NA_VALUES`), so a token either library adds later is tested too.
"""

import pyarrow.csv as pacsv
import pytest
from pandas._libs.parsers import STR_NA_VALUES

from metrics_utility.library.extract import read_csv
from testsupport.report_data import JOB_HOST_SUMMARY, csv_bytes

pytestmark = pytest.mark.unit
NULL_TOKENS = sorted(set(pacsv.ConvertOptions().null_values) | set(STR_NA_VALUES))


def test_the_token_list_is_the_libraries_and_holds_the_usual_suspects():
    assert {'', 'NA', 'null', 'NULL', 'nan', 'NaN', 'N/A', '#N/A', 'None', '<NA>', 'n/a'} <= set(NULL_TOKENS)


@pytest.mark.hostile
@pytest.mark.parametrize('token', NULL_TOKENS, ids=repr)
def test_null_tokens_are_text_in_every_text_column(token):
    row = {'id': 1, 'host_name': token, 'ansible_host_variable': token, 'organization_name': token,
           'job_template_name': token, 'inventory_name': token, 'project_name': token, 'ok': 1}  # fmt: skip
    null = {'id': 2, 'host_name': 'web01', 'ok': 1}  # every other text column NULL (unquoted empty field)
    table = read_csv(csv_bytes(JOB_HOST_SUMMARY, [row, null]), 'job_host_summary')
    for column in ('host_name', 'ansible_host_variable', 'organization_name', 'job_template_name', 'inventory_name',
                   'project_name'):  # fmt: skip
        assert table.column(column).to_pylist() == [token, None if column != 'host_name' else 'web01'], column
    assert table.column('id').to_pylist() == [1, 2]


def test_postgresql_null_and_empty_string_differ():
    data = b'id,host_name,ansible_host_variable,host_remote_id\n1,a,,\n2,b,"",7\n3,"",x,\n'
    table = read_csv(data, 'job_host_summary')
    assert table.column('ansible_host_variable').to_pylist() == [None, '', 'x']
    assert table.column('host_name').to_pylist() == ['a', 'b', '']
    assert table.column('host_remote_id').to_pylist() == [None, 7, None]
