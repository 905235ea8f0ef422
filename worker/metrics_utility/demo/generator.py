"""Seeded generator of realistic automation-controller data, produced as PostgreSQL COPY text.

The generator is pure: `generate(spec)` yields `(table, chunk)` pairs of COPY text-format rows and touches nothing
else, so the same spec always yields the same bytes (tests hash them). `database.load_dataset` streams the chunks
into PostgreSQL.

Every scale contains a fixed *scenario* of awkward cases that real installations have, so even `tiny` is useful for
hand-checked tests; larger scales add seeded random bulk on top:

- host names duplicated across inventories (also with different case), and `localhost`/add_host names that are not in
  any inventory (summary rows with NULL host_id);
- `ansible_host` in YAML (plain, quoted, with a trailing comment, after `---`) and in JSON (top level, and a nested
  `ansible_host` that must not count), empty variables, malformed YAML and JSON, non-numeric `ansible_port`;
- hosts whose only results are unreachable, deleted hosts (NULL `host_id` in summaries, dangling event `host_id`);
- jobs that cross UTC midnight, still-running jobs (no summaries yet), failed/canceled jobs, jobs with no template,
  project updates (`launch_type` sync) that job collectors must ignore;
- events whose `event_data` holds `\\u0000`, lone surrogates and non-ASCII text, FQCN modules reached through
  redirects (`task_action` != `resolved_action`), roles and collection roles, oversized `res` replaced by `{}`;
- indirectly managed node audit rows, host metrics, settings that include secrets (see `SECRET_SETTINGS`).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from metrics_utility.library.instants import require_aware

# -- scales -----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    """Size of the random bulk added on top of the scenario (tiny has none)."""

    name: str
    organizations: int
    hosts: int
    jobs_per_day: int
    hosts_per_job_median: float  # log-normal, sigma 1 -> mean ~1.65x the median
    project_updates_per_day: int


SCALES: dict[str, Scale] = {
    'tiny': Scale('tiny', 0, 0, 0, 0, 0),
    'small': Scale('small', 3, 300, 60, 9, 4),
    'medium': Scale('medium', 10, 12_000, 2_400, 12, 48),
    'large': Scale('large', 20, 120_000, 24_000, 12, 240),
}


@dataclass(frozen=True)
class DatasetSpec:
    """What to generate: `days` of activity starting at `start` (UTC midnight), reproducible by `seed`."""

    scale: str = 'small'
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC)
    days: int = 3
    seed: int = 42

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise ValueError(f'unknown scale {self.scale!r}; expected one of {", ".join(SCALES)}')
        require_aware('start', self.start, ValueError)
        if self.days < 1:
            raise ValueError(f'days must be >= 1, got {self.days}')
        object.__setattr__(self, 'start', self.start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0))

    @property
    def end(self) -> datetime:
        """The snapshot instant: jobs still running at this time have no summaries yet."""
        return self.start + timedelta(days=self.days)


# -- constants shared with tests --------------------------------------------------------------------------------------

AAP_REGISTRY = 'registry.redhat.io/ansible-automation-platform-25'
INSTALL_UUID_PREFIX = '00000000-0000-4000-8000-'
# Settings whose values are credentials: they must never leave the database (config.json, logs, tarballs).
SECRET_SETTINGS = {
    'REDHAT_PASSWORD': '$encrypted$UTF8$AESCBC$Z0FBQUFBQm1-redhat-secret-4f1c',
    'SUBSCRIPTIONS_PASSWORD': '$encrypted$UTF8$AESCBC$Z0FBQUFBQm1-subs-secret-9a7e',
    'AUTOMATION_ANALYTICS_PASSWORD': 'analytics-plain-secret-d41d8c',
}
# Credentials: (name, type name, kind, managed type, secret inputs). The inputs hold secrets as AWX stores them
# (encrypted per field); nothing of them may leave the database. The last type is a custom one an administrator
# named, which is not shipped either (only managed type names are).
CREDENTIALS = [
    (
        'Demo machine',
        'Machine',
        'ssh',
        True,
        {'username': 'machine-user-5d1e', 'password': '$encrypted$UTF8$AESCBC$Z0FBQUFBQm1-machine-secret-7b2e'},
    ),
    (
        'AWS automation',
        'Amazon Web Services',
        'cloud',
        True,
        {'username': 'AKIADEMO7Q3XK2', 'password': '$encrypted$UTF8$AESCBC$Z0FBQUFBQm1-aws-secret-c03a'},
    ),
    (
        'Vault token',
        'Acme Internal Vault',
        'cloud',
        False,
        {'token': '$encrypted$UTF8$AESCBC$Z0FBQUFBQm1-acme-secret-e91d'},
    ),
]
RESULT_EVENTS = ('runner_on_ok', 'runner_on_failed', 'runner_on_skipped', 'runner_on_unreachable')
CONTENT_TYPES = [  # (id, model): ids differ between real installs, so they are deliberately not 1..n
    (9, 'job'),
    (7, 'jobtemplate'),
    (11, 'project'),
    (12, 'projectupdate'),
    (14, 'inventoryupdate'),
    (15, 'inventorysource'),
    (18, 'systemjob'),
    (20, 'workflowjob'),
    (22, 'adhoccommand'),
]
CT = {model: ctid for ctid, model in CONTENT_TYPES}

# (task_action as written, resolved_action, module args summary). Redirects: task_action != resolved_action.
MODULES = [
    ('ansible.builtin.command', 'ansible.builtin.command'),
    ('shell', 'ansible.builtin.shell'),
    ('yum', 'ansible.builtin.dnf'),  # redirect through action plugin routing
    ('ansible.builtin.copy', 'ansible.builtin.copy'),
    ('template', 'ansible.builtin.template'),
    ('ansible.builtin.service', 'ansible.builtin.systemd_service'),
    ('setup', 'ansible.builtin.gather_facts'),
    ('ios_command', 'cisco.ios.ios_command'),
    ('cisco.ios.ios_config', 'cisco.ios.ios_config'),
    ('community.general.timezone', 'community.general.timezone'),
    ('community.general.ufw', 'community.general.ufw'),
    ('vmware.vmware_rest.vcenter_vm_info', 'vmware.vmware_rest.vcenter_vm_info'),
    ('redhat.rhel_system_roles.selinux', 'redhat.rhel_system_roles.selinux'),
    ('debug', 'ansible.builtin.debug'),
    ('ping', 'ansible.builtin.ping'),
    ('amazon.aws.ec2_instance_info', 'amazon.aws.ec2_instance_info'),
    ('my_local_module', 'my_local_module'),  # no collection
]
ROLES = [  # (role, resolved_role): collection roles resolve to an FQCN
    ('common', ''),
    ('webserver', ''),
    ('timesync', 'redhat.rhel_system_roles.timesync'),
    ('hardening', 'devsec.hardening.os_hardening'),
]
INDIRECT_MODULES = ['vmware.vmware_rest.vcenter_vm_info', 'cisco.ios.ios_facts', 'amazon.aws.ec2_instance_info']
ORG_NAMES = ['Default', 'Engineering', 'Finance', 'Retail Ops', 'Zürich Netzwerk', 'Research', 'Platform',
             'Security', 'Sales', 'Support', 'Logistics', 'Manufacturing', 'Marketing', 'Legal', 'HR', 'QA',
             'Data', 'Edge', 'Cloud', 'Labs']  # fmt: skip
NASTY_MESSAGES = [
    'binary\\u0000payload from device',  # JSON escape of NUL: legal JSON, illegal in jsonb
    'Grüße aus Zürich — température ✓ 日本語',
    'lone surrogate \\ud83d in output',
]


# -- small helpers ----------------------------------------------------------------------------------------------------


def _ts(value: datetime | None) -> str:
    return '\\N' if value is None else value.isoformat(sep=' ')


def _text(value: str | None) -> str:
    """Escape a value for COPY text format."""
    if value is None:
        return '\\N'
    if '\\' in value or '\t' in value or '\n' in value or '\r' in value:
        value = value.replace('\\', '\\\\').replace('\t', '\\t').replace('\n', '\\n').replace('\r', '\\r')
    return value


def _b(value: bool) -> str:
    return 't' if value else 'f'


def _n(value: int | None) -> str:
    return '\\N' if value is None else str(value)


def _row(*values: str) -> str:
    return '\t'.join(values) + '\n'


def _json(value: object) -> str:
    return _text(json.dumps(value, ensure_ascii=False, separators=(', ', ': ')))


# -- the object model the generator builds before streaming jobs ------------------------------------------------------


@dataclass
class Host:
    id: int
    name: str
    inventory: Inventory
    variables: str
    ansible_host: str | None  # what a correct YAML/JSON parser finds at the top level, for reference only
    facts: dict
    enabled: bool = True
    deleted: bool = False  # deleted after running jobs: summaries keep host_name with NULL host_id
    unreachable: bool = False  # only ever unreachable
    created: datetime | None = None


@dataclass
class Inventory:
    id: int
    name: str
    org: Organization
    hosts: list[Host] = field(default_factory=list)


@dataclass
class Organization:
    id: int
    name: str
    weight: float
    inventories: list[Inventory] = field(default_factory=list)
    templates: list[Template] = field(default_factory=list)
    projects: list[int] = field(default_factory=list)


@dataclass
class Template:
    id: int
    name: str
    org: Organization
    project_id: int
    inventory: Inventory
    playbook: str
    tasks: list[tuple[str, str, str, str, str]]  # (task name, task_action, resolved_action, role, resolved_role)


@dataclass
class PlannedJob:
    created: datetime
    template: Template | None
    org: Organization
    inventory: Inventory
    hosts: list[Host]
    duration: float
    status: str  # final status if finished by the snapshot
    launch_type: str
    tasks: list[tuple[str, str, str, str, str]]
    nasty: bool = False  # events carry NUL escapes / non-ASCII / surrogates
    extra_hosts: list[str] = field(default_factory=list)  # names not in the inventory (localhost, add_host)
    indirect: bool = False


class _Ids:
    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def __call__(self, table: str) -> int:
        value = self._next.get(table, 1)
        self._next[table] = value + 1
        return value


# -- generator --------------------------------------------------------------------------------------------------------


class _Generator:
    def __init__(self, spec: DatasetSpec) -> None:
        self.spec = spec
        self.scale = SCALES[spec.scale]
        self.rng = random.Random(spec.seed)
        self.ids = _Ids()
        self.orgs: list[Organization] = []
        self.hosts: list[Host] = []
        self.out: dict[str, list[str]] = {}
        self.host_metrics: dict[str, list] = {}  # lower(name) -> [first, last, count, deleted]
        self.host_last: dict[int, tuple[int, int]] = {}  # host id -> (job id, summary id)
        self.uuid_counter = 0
        self.install_uuid = INSTALL_UUID_PREFIX + f'{self.rng.getrandbits(48):012x}'

    # plumbing ------------------------------------------------------------------------------------------------------
    def emit(self, table: str, line: str) -> None:
        self.out.setdefault(table, []).append(line)

    def drain(self, min_rows: int = 0) -> Iterator[tuple[str, str]]:
        for table, rows in list(self.out.items()):
            if rows and len(rows) >= min_rows:
                yield table, ''.join(rows)
                self.out[table] = []

    def uuid(self) -> str:
        h = f'{self.rng.getrandbits(128):032x}'
        return f'{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}'

    # static objects --------------------------------------------------------------------------------------------------
    def build(self) -> Iterator[tuple[str, str]]:
        t0 = self.spec.start - timedelta(days=400)
        for ctid, model in CONTENT_TYPES:
            self.emit('django_content_type', _row(str(ctid), 'main', model))
        self.emit(
            'auth_user',
            _row(
                '1',
                'pbkdf2_sha256$600000$demo$hash',
                '\\N',
                't',
                'admin',
                '',
                '',
                'admin@example.com',
                't',
                't',
                _ts(t0),
            ),
        )
        self._settings(t0)
        self._instances(t0)
        self._execution_environments(t0)
        self._credentials(t0)
        self._scenario_objects(t0)
        self._random_objects(t0)
        for host in self.hosts:
            host.created = host.created or t0 + timedelta(minutes=host.id)
        yield from self.drain()

    def _settings(self, t0: datetime) -> None:
        last_entries = json.dumps({'config': '2023-12-01T10:00:00Z', 'job_host_summary': '2023-12-01T10:00:00Z'})
        settings = {
            'INSTALL_UUID': self.install_uuid,
            'LICENSE': {
                'license_type': 'enterprise',
                'subscription_name': 'Red Hat Ansible Automation, Premium (100 Managed Nodes)',
                'sku': 'MCT3695',
                'instance_count': 100,
                'license_date': 1893456000,
                'pool_id': 'a1b2c3',
                'product_name': 'Red Hat Ansible Automation Platform',
                'support_level': 'Premium',
                'usage': 'Production',
                'satellite': False,
                'valid_key': True,
                'trial': False,
                'subscription_id': 12345678,
                'account_number': '1234567',
            },
            'TOWER_URL_BASE': 'https://controller.example.com',
            'SUBSCRIPTION_USAGE_MODEL': '',
            'PENDO_TRACKING_STATE': 'off',
            'AUTHENTICATION_BACKENDS': ['awx.sso.backends.LDAPBackend', 'django.contrib.auth.backends.ModelBackend'],
            'LOG_AGGREGATOR_ENABLED': False,
            'LOG_AGGREGATOR_TYPE': None,
            'LOG_AGGREGATOR_LOGGERS': ['awx', 'activity_stream', 'job_events', 'system_tracking'],
            'INSIGHTS_TRACKING_STATE': False,
            'REDHAT_USERNAME': 'rh-portal-user',
            'SUBSCRIPTIONS_USERNAME': 'rh-subs-user',
            'AUTOMATION_ANALYTICS_LAST_GATHER': '2023-12-01T10:00:00Z',
            'AUTOMATION_ANALYTICS_LAST_ENTRIES': last_entries,  # double-encoded, as AWX stores it
            **SECRET_SETTINGS,
        }
        for key, value in settings.items():
            self.emit('conf_setting', _row(str(self.ids('conf_setting')), _ts(t0), _ts(t0), key, _json(value), '\\N'))

    def _instances(self, t0: datetime) -> None:
        snapshot = self.spec.end
        rows = [  # hostname, version, node_type, enabled, last_seen
            ('controller-task-0.example.com', '4.6.8', 'control', True, snapshot - timedelta(minutes=1)),
            ('exec-0.example.com', '4.6.8', 'execution', True, snapshot - timedelta(minutes=2)),
            ('controller-old.example.com', '4.5.12', 'hybrid', False, snapshot - timedelta(days=90)),
        ]
        for hostname, version, node_type, enabled, last_seen in rows:
            self.emit(
                'main_instance',
                _row(
                    str(self.ids('main_instance')),
                    self.uuid(),
                    hostname,
                    _ts(t0),
                    _ts(last_seen),
                    '120',
                    version,
                    '1.00',
                    '4.0',
                    '16000000000',
                    '16',
                    '120',
                    _b(enabled),
                    't',
                    '',
                    node_type,
                    _ts(last_seen),
                    '',
                    _ts(last_seen),
                    'ready',
                    '\\N',
                    'f',
                ),
            )

    def _execution_environments(self, t0: datetime) -> None:
        for name, image, managed in [
            ('Default execution environment', f'{AAP_REGISTRY}/ee-supported-rhel8:latest', True),
            ('Control Plane Execution Environment', f'{AAP_REGISTRY}/ee-minimal-rhel8:latest', True),
            ('Network EE', 'quay.example.com/network/ee-network:2.1', False),
        ]:
            self.emit(
                'main_executionenvironment',
                _row(
                    str(self.ids('main_executionenvironment')),
                    _ts(t0),
                    _ts(t0),
                    '',
                    image,
                    _b(managed),
                    '\\N',
                    '\\N',
                    '\\N',
                    '\\N',
                    name,
                    'missing',
                ),
            )

    def _credentials(self, t0: datetime) -> None:
        null, at = '\\N', _ts(t0)
        for name, type_name, kind, managed, inputs in CREDENTIALS:
            type_id = self.ids('main_credentialtype')
            namespace = kind if managed else null
            self.emit(
                'main_credentialtype',
                _row(str(type_id), at, at, '', type_name, kind, _b(managed), namespace, '{}', '{}', null, null),
            )
            credential = (str(self.ids('main_credential')), at, at, '', name, _json(inputs), 'f', null, null)
            self.emit('main_credential', _row(*credential, str(type_id), null, null, null, null))

    def _job_credentials(self, uj_id: int) -> None:
        """Every job uses the machine credential; every third also the cloud one, every seventh the custom one (no
        randomness: the seeded data of every other table stays as it was)."""
        for credential_id, every in ((1, 1), (2, 3), (3, 7)):
            if uj_id % every == 0:
                link = (str(self.ids('main_unifiedjob_credentials')), str(uj_id), str(credential_id))
                self.emit('main_unifiedjob_credentials', _row(*link))

    def _organization(self, name: str, weight: float, t0: datetime) -> Organization:
        org = Organization(self.ids('main_organization'), name, weight)
        self.orgs.append(org)
        self.emit(
            'main_organization',
            _row(
                str(org.id),
                _ts(t0),
                _ts(t0),
                f'{name} organization',
                name,
                *(['\\N'] * 6),
                '\\N',
                *(['\\N'] * 7),
                '0',
                '\\N',
                '\\N',
                '1',
                '\\N',
            ),
        )
        for _ in range(2 if name != 'Default' else 1):
            org.projects.append(self._project(org, t0))
        return org

    def _project(self, org: Organization, t0: datetime) -> int:
        pid = self.ids('main_unifiedjobtemplate')
        name = f'{org.name} playbooks {len(org.projects) + 1}'
        self.emit('main_unifiedjobtemplate', self._ujt_row(pid, name, org.id, CT['project'], t0))
        self.emit(
            'main_project',
            _row(
                str(pid),
                f'_{pid}__{name.lower().replace(" ", "_")}',
                'git',
                f'https://git.example.com/{org.id}/{pid}.git',
                'main',
                'f',
                'f',
                't',
                '0',
                '0',
                'a' * 40,
                '["site.yml"]',
                '[]',
                '\\N',
                '',
                'f',
                '\\N',
                'f',
                '\\N',
                '\\N',
                '\\N',
                '\\N',
                '\\N',
                '\\N',
            ),
        )
        return pid

    def _ujt_row(self, ujt_id: int, name: str, org_id: int, ctype: int, t0: datetime) -> str:
        return _row(
            str(ujt_id),
            _ts(t0),
            _ts(t0),
            '',
            name,
            '\\N',
            'f',
            '\\N',
            '\\N',
            'successful',
            '\\N',
            '\\N',
            '\\N',
            '\\N',
            '\\N',
            str(ctype),
            str(org_id),
            '\\N',
            't',
        )

    def _inventory(self, org: Organization, name: str, t0: datetime) -> Inventory:
        inv = Inventory(self.ids('main_inventory'), name, org)
        org.inventories.append(inv)
        return inv

    def _emit_inventories(self, t0: datetime) -> None:
        for org in self.orgs:
            for inv in org.inventories:
                live = [h for h in inv.hosts if not h.deleted]
                self.emit(
                    'main_inventory',
                    _row(
                        str(inv.id),
                        _ts(t0),
                        _ts(t0),
                        '',
                        inv.name,
                        _text('env: demo\n'),
                        'f',
                        str(len(live)),
                        '0',
                        '1',
                        'f',
                        '0',
                        '0',
                        '\\N',
                        '\\N',
                        str(org.id),
                        *(['\\N'] * 5),
                        '\\N',
                        '',
                        'f',
                        'f',
                        '\\N',
                    ),
                )

    def _host(
        self,
        inv: Inventory,
        name: str,
        variables: str,
        ansible_host: str | None,
        facts: dict | None = None,
        **flags: bool,
    ) -> Host:
        host = Host(self.ids('main_host'), name, inv, variables, ansible_host, facts or {}, **flags)
        inv.hosts.append(host)
        self.hosts.append(host)
        return host

    def _template(self, org: Organization, inv: Inventory, name: str, tasks: list | None = None) -> Template:
        tpl = Template(
            self.ids('main_unifiedjobtemplate'),
            name,
            org,
            self.rng.choice(org.projects),
            inv,
            f'{name.lower().replace(" ", "_")}.yml',
            tasks or self._random_tasks(),
        )
        org.templates.append(tpl)
        t0 = self.spec.start - timedelta(days=300)
        self.emit('main_unifiedjobtemplate', self._ujt_row(tpl.id, name, org.id, CT['jobtemplate'], t0))
        self.emit(
            'main_jobtemplate',
            _row(
                str(tpl.id),
                'run',
                tpl.playbook,
                '5',
                '',
                '0',
                '---',
                '',
                'f',
                '',
                '',
                't',
                '',
                'f',
                'f',
                '{}',
                str(inv.id),
                str(tpl.project_id),
                '\\N',
                '\\N',
                '\\N',
                *(['f'] * 7),
                '0',
                'f',
                'f',
                'f',
                'f',
                '\\N',
                '1',
                'f',
                '',
                '\\N',
                '',
                '',
                *(['f'] * 7),
                '\\N',
            ),
        )
        return tpl

    def _random_tasks(self) -> list[tuple[str, str, str, str, str]]:
        tasks = []
        for i in range(self.rng.randint(2, 6)):
            action, resolved = self.rng.choice(MODULES)
            role, resolved_role = self.rng.choice(ROLES) if self.rng.random() < 0.3 else ('', '')
            tasks.append(
                (f'{resolved.rsplit(".", 1)[-1].replace("_", " ")} step {i + 1}', action, resolved, role, resolved_role)
            )
        return tasks

    def _scenario_objects(self, t0: datetime) -> None:
        """The fixed cast of awkward cases, present at every scale."""
        default = self._organization('Default', 1.0, t0)
        network = self._organization('Zürich Netzwerk', 0.5, t0)
        prod = self._inventory(default, 'Production', t0)
        lab = self._inventory(default, 'Lab', t0)
        switches = self._inventory(network, 'Switches', t0)
        serial = {
            'ansible_product_serial': 'SER-0001',
            'ansible_machine_id': 'mid-web01',
            'ansible_system_vendor': 'Dell Inc.',
            'ansible_virtualization_type': 'kvm',
        }
        self.scenario = {
            'yaml': self._host(
                prod, 'web01.example.com', 'ansible_host: 10.0.0.11\nansible_connection: ssh\n', '10.0.0.11', serial
            ),
            'yaml_quoted_comment': self._host(
                prod,
                'web02.example.com',
                '---\nansible_host: "10.0.0.12"  # primary NIC\nansible_port: ssh\n',
                '10.0.0.12',
            ),
            'json': self._host(
                prod, 'db01.example.com', '{"ansible_host": "10.0.0.21", "ansible_port": 5432}', '10.0.0.21'
            ),
            'json_nested': self._host(
                prod,
                'db02.example.com',
                '{"vars": {"ansible_host": "nested-not-top"}, "ansible_connection": "local"}',
                None,
            ),
            'empty': self._host(prod, 'app01.example.com', '', None),
            'malformed_json': self._host(prod, 'app02.example.com', '{"ansible_host": "10.0.0.32",', None),
            'malformed_yaml': self._host(prod, 'app03.example.com', 'ansible_host: [10.0.0.33\n\tbad: : indent', None),
            'unreachable': self._host(
                prod, 'ghost01.example.com', 'ansible_host: 10.9.9.9', '10.9.9.9', unreachable=True
            ),
            'deleted': self._host(prod, 'old01.example.com', 'ansible_host: 10.0.0.99', '10.0.0.99', deleted=True),
            'disabled': self._host(prod, 'disabled01.example.com', '', None, enabled=False),
            # The same machine in two inventories (same ansible_host), and a same-name host with different case.
            'dup_same': self._host(lab, 'web01.example.com', '{"ansible_host": "10.0.0.11"}', '10.0.0.11', serial),
            'dup_case': self._host(lab, 'WEB02.example.com', 'ansible_host: 10.0.0.12', '10.0.0.12'),
            'switch': self._host(
                switches, 'sw01', 'ansible_host: 192.0.2.1\nansible_network_os: cisco.ios.ios\n', '192.0.2.1'
            ),
        }
        self.scenario_templates = {
            'site': self._template(
                default,
                prod,
                'Deploy site',
                [
                    ('Install packages', 'yum', 'ansible.builtin.dnf', '', ''),
                    (
                        'Configure time',
                        'redhat.rhel_system_roles.timesync',
                        'redhat.rhel_system_roles.timesync',
                        'timesync',
                        'redhat.rhel_system_roles.timesync',
                    ),
                    ('Render config', 'template', 'ansible.builtin.template', 'webserver', ''),
                    ('Restart', 'ansible.builtin.service', 'ansible.builtin.systemd_service', '', ''),
                ],
            ),
            'lab': self._template(
                default,
                lab,
                'Lab check',
                [
                    ('Ping', 'ping', 'ansible.builtin.ping', '', ''),
                    ('Local thing', 'my_local_module', 'my_local_module', '', ''),
                ],
            ),
            'network': self._template(
                network,
                switches,
                'Switch audit',
                [
                    ('Show version', 'ios_command', 'cisco.ios.ios_command', '', ''),
                    (
                        'VM inventory',
                        'vmware.vmware_rest.vcenter_vm_info',
                        'vmware.vmware_rest.vcenter_vm_info',
                        '',
                        '',
                    ),
                ],
            ),
        }

    def _random_objects(self, t0: datetime) -> None:
        scale, rng = self.scale, self.rng
        if not scale.organizations:
            return
        orgs = [self.orgs[0]]
        names = [n for n in ORG_NAMES if n not in {o.name for o in self.orgs}]
        for i in range(2, scale.organizations):
            name = names[(i - 2) % len(names)] + ('' if i - 2 < len(names) else f' {i}')
            orgs.append(self._organization(name, 1.0 / i, t0))
        inventories = [self._inventory(org, f'{org.name} inventory {j}', t0) for org in orgs for j in range(1, 4)]
        # Log-normal inventory sizes; names drawn from a pool smaller than the host count so ~20% repeat.
        weights = [rng.lognormvariate(0, 1) for _ in inventories]
        total = sum(weights)
        pool = max(1, int(scale.hosts * 0.85))
        for inv, w in zip(inventories, weights, strict=True):
            seen: set[str] = set()
            for _ in range(max(2, round(scale.hosts * w / total))):
                n = rng.randrange(pool)
                name = f'node{n:06d}.example.com'
                if rng.random() < 0.02:
                    name = name.upper()
                if name in seen:
                    continue
                seen.add(name)
                variables, ansible_host = self._random_variables(n)
                facts = {}
                if rng.random() < 0.4:
                    facts = {
                        'ansible_machine_id': f'mid-{n:06d}',
                        'ansible_product_serial': f'SER-{n // 2:06d}',
                        'ansible_system_vendor': rng.choice(['Dell Inc.', 'HPE', 'VMware, Inc.', 'QEMU']),
                        'ansible_virtualization_type': rng.choice(['kvm', 'VMware', 'NA']),
                    }
                self._host(
                    inv,
                    name,
                    variables,
                    ansible_host,
                    facts,
                    enabled=rng.random() > 0.02,
                    deleted=rng.random() < 0.02,
                    unreachable=rng.random() < 0.005,
                )
        for inv in inventories:
            for k in range(rng.randint(2, 5)):
                self._template(inv.org, inv, f'{inv.name} job {k + 1}')

    def _random_variables(self, n: int) -> tuple[str, str | None]:
        rng = self.rng
        ip = f'10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}'
        kind = rng.random()
        if kind < 0.35:
            return f'ansible_host: {ip}\nansible_user: cloud-user\n', ip
        if kind < 0.70:
            return json.dumps({'ansible_host': ip, 'ansible_port': 22}), ip
        if kind < 0.75:
            return f"---\nansible_host: '{ip}'  # mgmt\n", ip
        if kind < 0.77:
            return '{"ansible_host": ', None  # malformed
        return '', None

    # jobs --------------------------------------------------------------------------------------------------------
    def plan_jobs(self) -> list[PlannedJob]:
        spec = self.spec
        jobs: list[PlannedJob] = []
        sc, tpl = self.scenario, self.scenario_templates
        for day in range(spec.days):
            midnight = spec.start + timedelta(days=day)
            prod = [
                sc[k]
                for k in (
                    'yaml',
                    'yaml_quoted_comment',
                    'json',
                    'json_nested',
                    'empty',
                    'malformed_json',
                    'malformed_yaml',
                    'unreachable',
                    'deleted',
                    'disabled',
                )
            ]
            jobs.append(
                PlannedJob(
                    midnight + timedelta(hours=9, minutes=5),
                    tpl['site'],
                    tpl['site'].org,
                    tpl['site'].inventory,
                    prod,
                    95.5,
                    'successful',
                    'scheduled',
                    tpl['site'].tasks,
                    nasty=True,
                    extra_hosts=['localhost'],
                )
            )
            jobs.append(
                PlannedJob(
                    midnight + timedelta(hours=13, minutes=30),
                    tpl['lab'],
                    tpl['lab'].org,
                    tpl['lab'].inventory,
                    [sc['dup_same'], sc['dup_case']],
                    12.25,
                    'failed',
                    'manual',
                    tpl['lab'].tasks,
                )
            )
            jobs.append(
                PlannedJob(
                    midnight + timedelta(hours=16),
                    tpl['network'],
                    tpl['network'].org,
                    tpl['network'].inventory,
                    [sc['switch']],
                    30.0,
                    'successful',
                    'workflow',
                    tpl['network'].tasks,
                    indirect=True,
                )
            )
            # Crosses UTC midnight: created 23:50, finished 00:20 next day (the summary lands on the next day).
            jobs.append(
                PlannedJob(
                    midnight + timedelta(hours=23, minutes=50),
                    tpl['site'],
                    tpl['site'].org,
                    tpl['site'].inventory,
                    [sc['yaml'], sc['json']],
                    1800.0,
                    'successful',
                    'scheduled',
                    tpl['site'].tasks,
                )
            )
            # No template (ad-hoc style playbook run).
            ping = [('Ping', 'ping', 'ansible.builtin.ping', '', '')]
            lab = tpl['lab']
            jobs.append(
                PlannedJob(
                    midnight + timedelta(hours=11),
                    None,
                    lab.org,
                    lab.inventory,
                    [sc['dup_same']],
                    5.0,
                    'successful',
                    'manual',
                    ping,
                )
            )
            jobs.extend(self._random_jobs(midnight))
        # Still running at the snapshot: created an hour before the end, runs for two hours.
        end = spec.end
        jobs.append(
            PlannedJob(
                end - timedelta(minutes=59),
                tpl['site'],
                tpl['site'].org,
                tpl['site'].inventory,
                [sc['yaml']],
                7200.0,
                'successful',
                'manual',
                tpl['site'].tasks,
            )
        )
        jobs.sort(key=lambda j: j.created)
        return jobs

    def _random_jobs(self, midnight: datetime) -> Iterator[PlannedJob]:
        scale, rng = self.scale, self.rng
        if not scale.jobs_per_day:
            return
        weekend = midnight.weekday() >= 5
        count = max(0, round(rng.gauss(scale.jobs_per_day, math.sqrt(scale.jobs_per_day)) * (0.6 if weekend else 1)))
        orgs = [o for o in self.orgs if o.templates and o.name != 'Zürich Netzwerk'] or self.orgs
        org_weights = [o.weight for o in orgs]
        mu = math.log(scale.hosts_per_job_median)
        for _ in range(count):
            # Diurnal shape: a busy working day, a quiet night.
            hour = rng.choices(
                range(24), weights=[2, 1, 1, 1, 1, 2, 4, 6, 9, 10, 10, 9, 8, 9, 10, 10, 9, 7, 5, 4, 3, 3, 2, 2]
            )[0]
            created = midnight + timedelta(hours=hour, seconds=rng.random() * 3600)
            org = rng.choices(orgs, org_weights)[0]
            template = rng.choice(org.templates)
            inventory = template.inventory
            size = min(len(inventory.hosts), max(1, int(rng.lognormvariate(mu, 1.0))), 5000)
            hosts = rng.sample(inventory.hosts, size)
            r = rng.random()
            status = 'successful' if r < 0.85 else 'failed' if r < 0.95 else rng.choice(['error', 'canceled'])
            launch = rng.choices(
                ['manual', 'scheduled', 'workflow', 'webhook', 'callback', 'relaunch'], [40, 40, 10, 4, 3, 3]
            )[0]
            duration = min(6 * 3600.0, rng.lognormvariate(math.log(90), 1.0))
            if rng.random() < 0.1:
                template_ref, tasks = None, self._random_tasks()
            else:
                template_ref, tasks = template, template.tasks
            extra = ['localhost'] if rng.random() < 0.02 else []
            yield PlannedJob(
                created,
                template_ref,
                org,
                inventory,
                hosts,
                duration,
                status,
                launch,
                tasks,
                nasty=rng.random() < 0.01,
                extra_hosts=extra,
                indirect=rng.random() < 0.05,
            )

    def project_updates(self) -> Iterator[None]:
        """Project updates are unified jobs with launch_type sync and no main_job row: job collectors skip them."""
        for day in range(self.spec.days):
            midnight = self.spec.start + timedelta(days=day)
            for _ in range(max(1, self.scale.project_updates_per_day)):
                created = midnight + timedelta(seconds=self.rng.random() * 86000)
                org = self.rng.choice(self.orgs)
                uj_id = self.ids('main_unifiedjob')
                self.emit(
                    'main_unifiedjob',
                    self._unifiedjob_row(
                        uj_id,
                        created,
                        created + timedelta(seconds=3),
                        created + timedelta(seconds=9),
                        'successful',
                        'sync',
                        f'{org.name} playbooks 1',
                        CT['projectupdate'],
                        org.projects[0],
                        org.id,
                        6.0,
                    ),
                )
                yield None

    def _unifiedjob_row(
        self,
        uj_id: int,
        created: datetime,
        started: datetime | None,
        finished: datetime | None,
        status: str,
        launch_type: str,
        name: str,
        ctype: int,
        ujt_id: int | None,
        org_id: int,
        elapsed: float,
        ee_id: int = 1,
    ) -> str:
        modified = finished or started or created
        installed = '{"ansible.posix": {"version": "1.5.4"}, "cisco.ios": {"version": "5.3.0"}}'
        return _row(
            str(uj_id),
            _ts(created),
            _ts(modified),
            '',
            name,
            '\\N',
            launch_type,
            'f',
            status,
            _b(status in ('failed', 'error', 'canceled')),
            _ts(started),
            _ts(finished),
            f'{elapsed:.3f}',
            '',
            '/runner',
            '',
            '',
            '\\N',
            '',
            '',
            '\\N',
            '\\N',
            str(ctype),
            '\\N',
            _n(ujt_id),
            'exec-0.example.com',
            '\\N',
            '0',
            'controller-task-0.example.com',
            '\\N',
            't',
            str(org_id),
            str(ee_id),
            installed,
            '2.16.3',
            '\\N',
            '\\N',
            '\\N',
            '1',
            '{}',
        )

    def run_job(self, job: PlannedJob) -> None:
        rng, snapshot = self.rng, self.spec.end
        uj_id = self.ids('main_unifiedjob')
        started = job.created + timedelta(seconds=2 + rng.random() * 5)
        finished = started + timedelta(seconds=job.duration)
        running = finished > snapshot
        status = 'running' if running else job.status
        name = job.template.name if job.template else 'Ad hoc playbook'
        self.emit(
            'main_unifiedjob',
            self._unifiedjob_row(
                uj_id,
                job.created,
                started,
                None if running else finished,
                status,
                job.launch_type,
                name,
                CT['job'],
                job.template.id if job.template else None,
                job.org.id,
                0.0 if running else job.duration,
            ),
        )
        self._job_credentials(uj_id)
        self.emit(
            'main_job',
            _row(
                str(uj_id),
                'run',
                job.template.playbook if job.template else 'adhoc.yml',
                '5',
                '',
                '0',
                '{}',
                '',
                'f',
                '',
                '',
                'f',
                str(job.inventory.id),
                _n(job.template.id if job.template else None),
                _n(job.template.project_id if job.template else None),
                'f',
                '{}',
                'b' * 40,
                '\\N',
                'f',
                '0',
                'f',
                '1',
                '0',
                '\\N',
                '',
                '\\N',
                '',
                '',
                '{}',
                _b(not job.indirect),
            ),
        )

        # Events: playbook start, play start, per task a task start and one result per live host, stats at the end.
        targets = [(h.name, h.id, h) for h in job.hosts] + [(n, None, None) for n in job.extra_hosts]
        span = max(job.duration, 1.0)
        playbook = job.template.playbook if job.template else 'adhoc.yml'
        pb_uuid, play_uuid = self.uuid(), self.uuid()
        ev = _EventWriter(self, uj_id, job.created, playbook, pb_uuid, play_uuid)
        ev.simple('playbook_on_start', started, '', '')
        ev.simple('playbook_on_play_start', started, pb_uuid, '')
        counts = {name: [0, 0, 0, 0, 0, 0, 0] for name, _, _ in targets}  # ok changed failures skipped dark ign resc
        alive = {name for name, _, _ in targets}
        n_tasks = len(job.tasks)
        horizon = min(span, (snapshot - started).total_seconds()) if running else span
        for t_index, task in enumerate(job.tasks):
            t_start = started + timedelta(seconds=span * t_index / (n_tasks + 1))
            if running and (t_start - started).total_seconds() > horizon:
                break
            task_uuid = ev.simple('playbook_on_task_start', t_start, play_uuid, '', task=task)
            for name, host_id, host in targets:
                if name not in alive:
                    continue
                c = counts[name]
                r = rng.random()
                if (host is not None and host.unreachable) or (r < 0.004 and t_index == 0):
                    outcome = 'runner_on_unreachable'
                    c[4] += 1
                    alive.discard(name)
                elif r < 0.03:
                    outcome = 'runner_on_failed'
                    ignore = rng.random() < 0.3
                    rescued = not ignore and rng.random() < 0.2
                    if ignore:
                        c[5] += 1
                    elif rescued:
                        c[6] += 1
                    else:
                        c[2] += 1
                        alive.discard(name)
                elif r < 0.15:
                    outcome = 'runner_on_skipped'
                    c[3] += 1
                else:
                    outcome = 'runner_on_ok'
                    c[0] += 1
                changed = outcome == 'runner_on_ok' and rng.random() < 0.35
                c[1] += changed
                ev.result(outcome, t_start, task_uuid, task, name, host_id, changed, job.nasty)
        if running:
            ev.flush()
            return

        ev.simple('playbook_on_stats', finished, pb_uuid, '')
        ev.flush()
        summary_time = finished + timedelta(seconds=1 + rng.random())
        for name, host_id, host in targets:
            ok, changed, failures, skipped, dark, ignored, rescued = counts[name]
            js_id = self.ids('main_jobhostsummary')
            keep_id = None if host is None or host.deleted else host_id
            self.emit(
                'main_jobhostsummary',
                _row(
                    str(js_id),
                    _ts(summary_time),
                    _ts(summary_time),
                    name,
                    str(changed),
                    str(dark),
                    str(failures),
                    str(ok),
                    '1',
                    str(skipped),
                    _b(dark > 0 or failures > 0),
                    _n(keep_id),
                    str(uj_id),
                    str(ignored),
                    str(rescued),
                    '\\N',
                ),
            )
            metric = self.host_metrics.setdefault(name.lower(), [summary_time, summary_time, 0, False])
            metric[1] = summary_time
            metric[2] += 1
            if host is not None:
                metric[3] = metric[3] or host.deleted
                self.host_last[host.id] = (uj_id, js_id)
        if job.indirect:
            self._indirect(uj_id, job, finished)

    def _indirect(self, uj_id: int, job: PlannedJob, finished: datetime) -> None:
        rng = self.rng
        for vm in rng.sample(range(200), rng.randint(1, 8)):  # names are unique per (name, job)
            name = f'vm-{vm:03d}.vcenter.example.com'
            modules = sorted(rng.sample(INDIRECT_MODULES, rng.randint(1, 2)))
            canonical = {'fqdn': name, 'moid': f'vm-{vm}'} if vm % 3 else {'serial': f'VMW-{vm:04d}'}
            facts = {'device_type': 'virtual_machine', 'guest_os': rng.choice(['RHEL 9', 'Windows 2022'])}
            self.emit(
                'main_indirectmanagednodeaudit',
                _row(
                    str(self.ids('main_indirectmanagednodeaudit')),
                    _ts(finished + timedelta(seconds=30)),
                    name,
                    _json(canonical),
                    _json(facts),
                    _json(modules),
                    str(rng.randint(1, 20)),
                    '\\N',
                    str(job.inventory.id),
                    str(uj_id),
                    str(job.org.id),
                ),
            )

    # final tables --------------------------------------------------------------------------------------------------
    def finish(self) -> Iterator[tuple[str, str]]:
        t0 = self.spec.start - timedelta(days=400)
        self._emit_inventories(t0)
        for host in self.hosts:
            if host.deleted:
                continue
            last_job, last_summary = self.host_last.get(host.id, (None, None))
            self.emit(
                'main_host',
                _row(
                    str(host.id),
                    _ts(host.created),
                    _ts(host.created),
                    '',
                    host.name,
                    _b(host.enabled),
                    f'i-{host.id:08x}',
                    _text(host.variables),
                    '\\N',
                    str(host.inventory.id),
                    _n(last_job),
                    _n(last_summary),
                    '\\N',
                    _json(host.facts),
                    _ts(host.created) if host.facts else '\\N',
                ),
            )
        for name, (first, last, count, deleted) in sorted(self.host_metrics.items()):
            self.emit(
                'main_hostmetric',
                _row(
                    str(self.ids('main_hostmetric')),
                    name,
                    _ts(first),
                    _ts(last),
                    _ts(last) if deleted else '\\N',
                    str(count),
                    '1' if deleted else '0',
                    _b(deleted),
                    '1',
                ),
            )
        month = self.spec.start.date().replace(day=1)
        self.emit(
            'main_hostmetricsummarymonthly',
            _row('1', month.isoformat(), str(len(self.host_metrics)), '100', str(len(self.host_metrics)), '0', '0'),
        )
        self.emit(
            'main_eventquery',
            _row(
                '1', 'vmware.vmware_rest', '4.5.0', _json({'vmware.vmware_rest.vcenter_vm_info': {'query': '.value[]'}})
            ),
        )
        yield from self.drain()


class _EventWriter:
    """Builds main_jobevent rows for one job; event_data JSON is assembled from pre-escaped pieces for speed."""

    def __init__(
        self, gen: _Generator, job_id: int, job_created: datetime, playbook: str, pb_uuid: str, play_uuid: str
    ) -> None:
        self.gen = gen
        self.job_id = str(job_id)
        self.job_created = _ts(job_created)
        self.playbook = playbook
        self.pb_uuid = pb_uuid
        self.play_uuid = play_uuid
        self.counter = 0
        self.line = 1
        self.base = (
            f'"playbook": "{playbook}", "playbook_uuid": "{pb_uuid}", "play": "Configure", '
            f'"play_uuid": "{play_uuid}", "play_pattern": "all"'
        )
        self.rows: list[str] = []

    def _row(
        self,
        event: str,
        created: datetime,
        event_data: str,
        failed: bool,
        changed: bool,
        host_name: str,
        role: str,
        task: str,
        host_id: int | None,
        uuid: str,
        parent: str,
        stdout: str,
    ) -> None:
        self.counter += 1
        lines = stdout.count('\\n') + 1
        gen = self.gen
        modified = created + timedelta(seconds=0.5)
        self.rows.append(
            '\t'.join(
                (
                    str(gen.ids('main_jobevent')),
                    _ts(created),
                    _ts(modified),
                    event,
                    event_data,
                    _b(failed),
                    _b(changed),
                    host_name,
                    'Configure',
                    role,
                    task,
                    str(self.counter),
                    _n(host_id),
                    self.job_id,
                    uuid,
                    parent,
                    str(self.line + lines),
                    self.playbook,
                    str(self.line),
                    stdout,
                    '0',
                    self.job_created,
                )
            )
            + '\n'
        )
        self.line += lines

    def simple(self, event: str, when: datetime, parent: str, host: str, task: tuple | None = None) -> str:
        uuid = self.gen.uuid()
        extra = ''
        name, role = '', ''
        if task is not None:
            name, action, _resolved, role, _resolved_role = task
            extra = f', "task": "{name}", "task_uuid": "{uuid}", "task_action": "{action}"'
        data = _text('{' + self.base + extra + f', "uuid": "{uuid}", "guid": "{uuid[:8]}"' + '}')
        self._row(event, when, data, False, False, host, role, name, None, uuid, parent, '')
        return uuid

    def result(
        self,
        event: str,
        when: datetime,
        task_uuid: str,
        task: tuple,
        host: str,
        host_id: int | None,
        changed: bool,
        nasty: bool,
    ) -> None:
        gen = self.gen
        name, action, resolved, role, resolved_role = task
        uuid = gen.uuid()
        duration = round(0.05 + gen.rng.random() * 4, 6)
        start = when + timedelta(seconds=gen.rng.random() * 2)
        end = start + timedelta(seconds=duration)
        msg = gen.rng.choice(NASTY_MESSAGES) if nasty else ('All items completed' if changed else 'ok')
        if nasty and gen.rng.random() < 0.1:
            res = '{}'  # larger than MAX_EVENT_RES: AWX stores an empty dict
        else:
            res = f'{{"changed": {"true" if changed else "false"}, "msg": "{msg}", "_ansible_no_log": false}}'
        role_part = f', "role": "{role}"' if role else ''
        if resolved_role:
            role_part += f', "resolved_role": "{resolved_role}"'
        failed = event in ('runner_on_failed', 'runner_on_unreachable')
        data = (
            '{' + self.base + f', "task": "{name}", "task_uuid": "{task_uuid}", "task_action": "{action}", '
            f'"resolved_action": "{resolved}", "task_path": "/runner/project/{self.playbook}:12"{role_part}, '
            f'"host": "{host}", "remote_addr": "{host}", "res": {res}, "start": "{start.isoformat()}", '
            f'"end": "{end.isoformat()}", "duration": {duration}, "event_loop": null, "uuid": "{uuid}"}}'
        )
        status = {
            'runner_on_ok': 'changed' if changed else 'ok',
            'runner_on_failed': 'fatal',
            'runner_on_skipped': 'skipping',
            'runner_on_unreachable': 'fatal',
        }[event]
        stdout = f'\x1b[0;33m{status}: [{host}]\x1b[0m'
        self._row(event, when, _text(data), failed, changed, host, role, name, host_id, uuid, task_uuid, stdout)

    def flush(self) -> None:
        self.gen.out.setdefault('main_jobevent', []).extend(self.rows)
        self.rows = []


def partition_hours(jobs: list[PlannedJob]) -> list[datetime]:
    """The UTC hours that need a main_jobevent partition: one per hour in which some job was created."""
    return sorted({job.created.replace(minute=0, second=0, microsecond=0) for job in jobs})


def partition_name(hour: datetime) -> str:
    return f'main_jobevent_{hour:%Y%m%d_%H}'


@dataclass
class Generated:
    """The plan of a dataset: generate() streams its rows; `hours` says which event partitions are needed."""

    spec: DatasetSpec
    hours: list[datetime]
    _gen: _Generator
    _static: list[tuple[str, str]]
    _jobs: list[PlannedJob]

    @property
    def install_uuid(self) -> str:
        return self._gen.install_uuid

    def rows(self, chunk_rows: int = 20_000) -> Iterator[tuple[str, str]]:
        """Yield (table, COPY text chunk) pairs; may be consumed once."""
        gen = self._gen
        yield from self._static
        for _ in gen.project_updates():
            pass
        for job in self._jobs:
            gen.run_job(job)
            yield from gen.drain(chunk_rows)
        yield from gen.finish()


def plan(spec: DatasetSpec) -> Generated:
    """Build the static objects and the job schedule for `spec` (cheap); stream rows with `.rows()`."""
    gen = _Generator(spec)
    static = list(gen.build())  # consumes the RNG in a fixed order before jobs are planned
    jobs = gen.plan_jobs()
    return Generated(spec, partition_hours(jobs), gen, static, jobs)


def generate(spec: DatasetSpec) -> Iterator[tuple[str, str]]:
    """All rows of the dataset described by `spec`, as (table, COPY text chunk) pairs."""
    return plan(spec).rows()
