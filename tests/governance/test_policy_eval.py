"""The policy evaluator against the answers AWS documents: evaluation logic, elements, S3 examples.

Each case cites the AWS page (and example) its expected answer comes from: the short names
in ids and comments are keys of ``DOC`` in ``_policy_helpers``. Policies are AWS's own
examples where the page has one, with bucket and account names replaced.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakeward.governance.policy_eval import PolicySource, Request, evaluate
from tests.governance._policy_helpers import (
    ACCOUNT,
    ALICE,
    ALLOW_ALL_S3,
    BOB,
    BUCKET,
    FOREIGN_ROLE,
    HOME,
    OBJ,
    OTHER_ROLE,
    ROLE,
    SESSION,
    bucket_policy,
    ctx_request,
    decide,
    doc,
    identity,
    stmt,
)

# -- evaluation logic ------------------------------------------------------------------------

# single-account page, Carlos example: the identity policy's DenyS3Logs statement denies
# the PutObject that the logs bucket's policy allows — "explicit deny in any of the
# policies overrides the allow".
CARLOS = f"arn:aws:iam::{ACCOUNT}:user/carlossalazar"
CARLOS_IDENTITY = identity(
    stmt(
        Sid="AllowS3ListRead",
        Action=["s3:GetBucketLocation", "s3:ListAllMyBuckets"],
        Resource="arn:aws:s3:::*",
    ),
    stmt(
        Sid="AllowS3Self",
        Action="s3:*",
        Resource=["arn:aws:s3:::demo-carlossalazar/*", "arn:aws:s3:::demo-carlossalazar"],
    ),
    stmt("Deny", Sid="DenyS3Logs", Action="s3:*", Resource="arn:aws:s3:::*log*"),
    name="carlos",
)
CARLOS_LOGS_BUCKET = bucket_policy(
    stmt(
        Sid="AllowCarlosWrite",
        Principal={"AWS": CARLOS},
        Action="s3:PutObject",
        Resource="arn:aws:s3:::demo-carlossalazar-logs/*",
    ),
    name="logs-bucket",
)


def test_explicit_deny_in_identity_policy_beats_allow_in_bucket_policy() -> None:
    # DOC["single-account"], "Example identity-based and resource-based policy evaluation"
    d = decide(
        [CARLOS_IDENTITY, CARLOS_LOGS_BUCKET],
        "s3:PutObject",
        "arn:aws:s3:::demo-carlossalazar-logs/app.log",
        CARLOS,
    )
    assert (d.allowed, d.effect, d.policy, d.sid, d.statement_index) == (
        False,
        "ExplicitDeny",
        "carlos",
        "DenyS3Logs",
        2,
    )
    assert "explicitly denies s3:PutObject" in d.reason


def test_bucket_policy_alone_allows_within_the_account() -> None:
    # DOC["single-account"]: "If either the identity-based policy or the resource-based
    # policy within the same account allows the request and the other doesn't, the
    # request is still allowed."
    d = decide(
        [identity(stmt(Action="s3:ListAllMyBuckets", Resource="*")), CARLOS_LOGS_BUCKET],
        "s3:PutObject",
        "arn:aws:s3:::demo-carlossalazar-logs/app.txt",
        CARLOS,
    )
    assert (d.allowed, d.effect, d.policy, d.sid) == (
        True,
        "Allow",
        "logs-bucket",
        "AllowCarlosWrite",
    )


def test_identity_policy_alone_allows_even_if_bucket_policy_is_silent() -> None:
    # DOC["single-account"]: either policy's allow suffices in the same account.
    d = decide(
        [CARLOS_IDENTITY, CARLOS_LOGS_BUCKET],
        "s3:GetObject",
        "arn:aws:s3:::demo-carlossalazar/notes.txt",
        CARLOS,
    )
    assert (d.effect, d.policy, d.sid) == ("Allow", "carlos", "AllowS3Self")


def test_explicit_deny_in_bucket_policy_beats_allow_in_identity_policy() -> None:
    # DOC["explicit-implicit"]: "the Deny statement trumps the Allow statement", whichever
    # policy holds it.
    deny = bucket_policy(
        stmt(
            "Deny", Sid="NoDeletes", Principal="*", Action="s3:DeleteObject", Resource=BUCKET + "/*"
        )
    )
    d = decide([ALLOW_ALL_S3, deny], "s3:DeleteObject")
    assert (d.effect, d.policy, d.sid) == ("ExplicitDeny", "bucket", "NoDeletes")


# DOC["explicit-implicit"]: AllowGetList (iam:Get*, iam:List*) + DenyReports (iam:*Report).
REPORTS = identity(
    stmt(Sid="AllowGetList", Action=["iam:Get*", "iam:List*"], Resource="*"),
    stmt("Deny", Sid="DenyReports", Action="iam:*Report", Resource="*"),
)


@pytest.mark.parametrize(
    ("action", "effect", "sid"),
    [
        pytest.param(
            "iam:GetUser", "Allow", "AllowGetList", id="explicit-implicit:GetUser-allowed"
        ),
        pytest.param(
            "iam:GetOrganizationsAccessReport",
            "ExplicitDeny",
            "DenyReports",
            id="explicit-implicit:GetOrganizationsAccessReport-explicitly-denied",
        ),
        pytest.param(
            "iam:CreatePolicy",
            "ImplicitDeny",
            None,
            id="explicit-implicit:CreatePolicy-implicitly-denied",
        ),
        pytest.param(
            "iam:GenerateCredentialReport",
            "ExplicitDeny",
            "DenyReports",
            id="explicit-implicit:GenerateCredentialReport-denied-even-if-granted-elsewhere",
        ),
    ],
)
def test_explicit_and_implicit_denies(action: str, effect: str, sid: str | None) -> None:
    granted = identity(stmt(Action="iam:GenerateCredentialReport", Resource="*"), name="reports")
    d = decide([REPORTS, granted], action, "*")
    assert (d.effect, d.sid) == (effect, sid)
    assert d.allowed is (effect == "Allow")


def test_implicit_deny_names_no_policy() -> None:
    # DOC["explicit-implicit"]: no applicable Allow and no Deny → implicit deny.
    d = decide([identity(stmt(Action="s3:GetObject", Resource=BUCKET + "/curated/*"))])
    assert (d.allowed, d.effect, d.policy, d.statement_index, d.sid) == (
        False,
        "ImplicitDeny",
        None,
        None,
        None,
    )
    assert "implicitly denied" in d.reason


def test_no_policies_at_all_is_an_implicit_deny() -> None:
    # DOC["explicit-implicit"]: "an IAM principal is denied access by default".
    assert decide([]).effect == "ImplicitDeny"


# -- Action / NotAction ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policies", "action", "effect"),
    [
        # DOC["notaction"]: "Allow" + NotAction iam:* grants every action except IAM's.
        pytest.param(
            [identity(stmt(NotAction="iam:*", Resource="*"))],
            "s3:GetObject",
            "Allow",
            id="notaction:allow-all-but-iam-allows-s3",
        ),
        pytest.param(
            [identity(stmt(NotAction="iam:*", Resource="*"))],
            "iam:CreateUser",
            "ImplicitDeny",
            id="notaction:allow-all-but-iam-skips-iam",
        ),
        # DOC["notaction"]: Deny + NotAction denies everything except the listed actions.
        pytest.param(
            [
                ALLOW_ALL_S3,
                identity(
                    stmt("Deny", NotAction=["s3:GetObject", "s3:ListBucket"], Resource="*"),
                    name="read-only",
                ),
            ],
            "s3:PutObject",
            "ExplicitDeny",
            id="notaction:deny-all-but-reads-denies-put",
        ),
        pytest.param(
            [
                ALLOW_ALL_S3,
                identity(
                    stmt("Deny", NotAction=["s3:GetObject", "s3:ListBucket"], Resource="*"),
                    name="read-only",
                ),
            ],
            "s3:GetObject",
            "Allow",
            id="notaction:deny-all-but-reads-leaves-get",
        ),
        # DOC["action"]: action names are case-insensitive ("s3:listallmybuckets" = "S3:ListAllMyBuckets").
        pytest.param(
            [identity(stmt(Action="S3:getobject", Resource="*"))],
            "s3:GetObject",
            "Allow",
            id="action:case-insensitive",
        ),
        # DOC["action"]: "s3:Get*" matches every action beginning with Get.
        pytest.param(
            [identity(stmt(Action="s3:Get*", Resource="*"))],
            "s3:GetObjectTagging",
            "Allow",
            id="action:prefix-wildcard",
        ),
        # DOC["action"]: '?' is one character ("s3:Get?bject" does not match "GetObjects…").
        pytest.param(
            [identity(stmt(Action="s3:Get?bject", Resource="*"))],
            "s3:GetObject",
            "Allow",
            id="action:question-mark-one-char",
        ),
        pytest.param(
            [identity(stmt(Action="s3:Get?bject", Resource="*"))],
            "s3:GetObjectAcl",
            "ImplicitDeny",
            id="action:question-mark-not-a-run",
        ),
        pytest.param(
            [identity(stmt(Action="s3:*Object", Resource="*"))],
            "sqs:DeleteObject",
            "ImplicitDeny",
            id="action:service-prefix-must-match",
        ),
    ],
)
def test_actions(policies: list[PolicySource], action: str, effect: str) -> None:
    assert decide(policies, action, "arn:aws:s3:::lake-raw/x").effect == effect


# -- Resource / NotResource -----------------------------------------------------------------

PAYROLL = identity(
    # DOC["notresource"]: allow everything except the HRBucket/Payroll folder.
    stmt(
        Action="s3:*",
        NotResource=["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"],
    )
)


@pytest.mark.parametrize(
    ("policies", "resource", "effect"),
    [
        pytest.param(
            [PAYROLL],
            "arn:aws:s3:::HRBucket/Benefits/plan.pdf",
            "Allow",
            id="notresource:other-folder-allowed",
        ),
        pytest.param(
            [PAYROLL],
            "arn:aws:s3:::HRBucket/Payroll/2024.csv",
            "ImplicitDeny",
            id="notresource:payroll-not-granted",
        ),
        pytest.param(
            # DOC["notresource"]: Deny with NotResource denies every resource but the listed ones.
            [
                ALLOW_ALL_S3,
                identity(
                    stmt("Deny", Action="s3:*", NotResource=[BUCKET, BUCKET + "/*"]),
                    name="only-lake",
                ),
            ],
            "arn:aws:s3:::another-bucket/x",
            "ExplicitDeny",
            id="notresource:deny-everything-but-one-bucket",
        ),
        pytest.param(
            [
                ALLOW_ALL_S3,
                identity(
                    stmt("Deny", Action="s3:*", NotResource=[BUCKET, BUCKET + "/*"]),
                    name="only-lake",
                ),
            ],
            OBJ,
            "Allow",
            id="notresource:deny-spares-the-listed-bucket",
        ),
        # DOC["resource"]: resource ARNs are case-sensitive.
        pytest.param(
            [identity(stmt(Action="s3:*", Resource="arn:aws:s3:::Lake-Raw/*"))],
            OBJ,
            "ImplicitDeny",
            id="resource:case-sensitive",
        ),
        # DOC["resource"]: '?' matches any single character.
        pytest.param(
            [identity(stmt(Action="s3:*", Resource="arn:aws:s3:::lake-raw/raw/?.csv"))],
            OBJ,
            "Allow",
            id="resource:question-mark",
        ),
        pytest.param(
            [identity(stmt(Action="s3:*", Resource="arn:aws:s3:::lake-raw/raw/?.csv"))],
            BUCKET + "/raw/ab.csv",
            "ImplicitDeny",
            id="resource:question-mark-exactly-one",
        ),
        # DOC["resource"]: "*" expands over '/' ("…bucket/*" covers nested keys).
        pytest.param(
            [identity(stmt(Action="s3:*", Resource=BUCKET + "/*"))],
            BUCKET + "/raw/x/y/z.csv",
            "Allow",
            id="resource:star-spans-slashes",
        ),
        # DOC["resource"]: a trailing '*' "can expand to match beyond the colon boundaries".
        pytest.param(
            [identity(stmt(Action="s3:*", Resource=BUCKET + "/*"))],
            BUCKET + "/k:with:colons",
            "Allow",
            id="resource:star-spans-colons",
        ),
        # DOC["resource"]: the bucket ARN and its objects' ARNs are different resources.
        pytest.param(
            [identity(stmt(Action="s3:*", Resource=BUCKET + "/*"))],
            BUCKET,
            "ImplicitDeny",
            id="resource:objects-pattern-is-not-the-bucket",
        ),
    ],
)
def test_resources(policies: list[PolicySource], resource: str, effect: str) -> None:
    assert decide(policies, "s3:GetObject", resource).effect == effect


# -- Principal / NotPrincipal (resource policies) ------------------------------------------


def _bucket_allow(principal: Any) -> PolicySource:
    return bucket_policy(stmt(Principal=principal, Action="s3:GetObject", Resource=BUCKET + "/*"))


@pytest.mark.parametrize(
    ("principal_element", "caller", "effect"),
    [
        # DOC["principal"]: "*" and {"AWS": "*"} are everyone, anonymous callers included.
        pytest.param("*", None, "Allow", id="principal:star-includes-anonymous"),
        pytest.param({"AWS": "*"}, ROLE, "Allow", id="principal:aws-star"),
        # DOC["principal"]: an account id is shorthand for arn:aws:iam::ID:root, the account.
        pytest.param(
            {"AWS": ACCOUNT},
            OTHER_ROLE,
            "Allow",
            id="principal:account-id-any-principal-of-account",
        ),
        pytest.param(
            {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            ALICE,
            "Allow",
            id="principal:root-arn-any-principal-of-account",
        ),
        pytest.param(
            {"AWS": ACCOUNT}, FOREIGN_ROLE, "ImplicitDeny", id="principal:account-id-other-account"
        ),
        pytest.param(
            {"AWS": ACCOUNT}, None, "ImplicitDeny", id="principal:account-id-not-anonymous"
        ),
        # DOC["principal"]: a role ARN names the role (and its assumed-role sessions).
        pytest.param({"AWS": ROLE}, ROLE, "Allow", id="principal:role-arn-exact"),
        pytest.param({"AWS": ROLE}, SESSION, "Allow", id="principal:role-arn-matches-its-session"),
        pytest.param({"AWS": ROLE}, OTHER_ROLE, "ImplicitDeny", id="principal:role-arn-other-role"),
        pytest.param({"AWS": [OTHER_ROLE, ALICE]}, ALICE, "Allow", id="principal:list-any-of"),
        pytest.param(
            {"Service": "lambda.amazonaws.com"},
            "lambda.amazonaws.com",
            "Allow",
            id="principal:service",
        ),
    ],
)
def test_principals(principal_element: Any, caller: str | None, effect: str) -> None:
    assert decide([_bucket_allow(principal_element)], principal=caller).effect == effect


@pytest.mark.parametrize(
    ("caller", "effect"),
    [
        # DOC["notprincipal"]: Deny + NotPrincipal denies everyone except the listed principals.
        pytest.param(ROLE, "Allow", id="notprincipal:listed-role-spared"),
        pytest.param(OTHER_ROLE, "ExplicitDeny", id="notprincipal:other-role-denied"),
        pytest.param(None, "ExplicitDeny", id="notprincipal:anonymous-denied"),
    ],
)
def test_not_principal_deny(caller: str | None, effect: str) -> None:
    only_ingest = bucket_policy(
        stmt(
            "Deny",
            Sid="OnlyIngest",
            NotPrincipal={"AWS": [ROLE]},
            Action="s3:PutObject",
            Resource=BUCKET + "/*",
        ),
        stmt(Sid="Everyone", Principal="*", Action="s3:PutObject", Resource=BUCKET + "/*"),
    )
    assert decide([only_ingest], "s3:PutObject", principal=caller).effect == effect


# -- HTTPS only, encryption (S3 bucket-policy examples) -----------------------------------

HTTPS_ONLY = bucket_policy(
    # DOC["https-only"]: deny any request made over HTTP (aws:SecureTransport false).
    stmt(
        "Deny",
        Sid="AllowSSLRequestsOnly",
        Principal="*",
        Action="s3:*",
        Resource=[BUCKET, BUCKET + "/*"],
        Condition={"Bool": {"aws:SecureTransport": "false"}},
    ),
    name="https-only",
)
HTTPS_ONLY_IF_EXISTS = bucket_policy(
    stmt(
        "Deny",
        Sid="DenyUnlessHttps",
        Principal="*",
        Action="s3:*",
        Resource=[BUCKET, BUCKET + "/*"],
        Condition={"BoolIfExists": {"aws:SecureTransport": "false"}},
    ),
    name="https-only-ifexists",
)


@pytest.mark.parametrize(
    ("policy", "secure", "effect"),
    [
        pytest.param(HTTPS_ONLY, "true", "Allow", id="https-only:secure-true-allowed"),
        pytest.param(HTTPS_ONLY, "false", "ExplicitDeny", id="https-only:secure-false-denied"),
        pytest.param(
            HTTPS_ONLY, False, "ExplicitDeny", id="https-only:secure-false-as-bool-denied"
        ),
        # DOC["operators"]: a key missing from the request makes Bool false → deny skipped.
        pytest.param(HTTPS_ONLY, None, "Allow", id="https-only:secure-missing-deny-does-not-apply"),
        # DOC["operators"] (…IfExists): missing key → condition true → deny applies.
        pytest.param(
            HTTPS_ONLY_IF_EXISTS, None, "ExplicitDeny", id="https-only:ifexists-missing-denied"
        ),
        pytest.param(
            HTTPS_ONLY_IF_EXISTS, "true", "Allow", id="https-only:ifexists-secure-allowed"
        ),
    ],
)
def test_https_only(policy: PolicySource, secure: Any, effect: str) -> None:
    context = {} if secure is None else {"aws:SecureTransport": secure}
    d = evaluate(ctx_request("s3:GetObject", OBJ, context), [ALLOW_ALL_S3, policy])
    assert d.effect == effect


SSE_NOT_EQUALS = bucket_policy(
    # DOC["sse"]: deny PutObject unless the x-amz-server-side-encryption header says AES256.
    stmt(
        "Deny",
        Sid="DenyIncorrectEncryptionHeader",
        Principal="*",
        Action="s3:PutObject",
        Resource=BUCKET + "/*",
        Condition={"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}},
    ),
    name="sse-not-equals",
)
SSE_NULL = bucket_policy(
    # DOC["sse"]: deny PutObject when the header is absent (Null … "true").
    stmt(
        "Deny",
        Sid="DenyUnEncryptedObjectUploads",
        Principal="*",
        Action="s3:PutObject",
        Resource=BUCKET + "/*",
        Condition={"Null": {"s3:x-amz-server-side-encryption": "true"}},
    ),
    name="sse-null",
)


@pytest.mark.parametrize(
    ("policy", "header", "effect"),
    [
        pytest.param(SSE_NOT_EQUALS, "AES256", "Allow", id="sse:not-equals-AES256-allowed"),
        pytest.param(SSE_NOT_EQUALS, "aws:kms", "ExplicitDeny", id="sse:not-equals-kms-denied"),
        # DOC["operators"]: a negated operator on a missing key is true → the deny applies.
        pytest.param(
            SSE_NOT_EQUALS, None, "ExplicitDeny", id="sse:not-equals-header-missing-denied"
        ),
        pytest.param(SSE_NULL, None, "ExplicitDeny", id="sse:null-header-missing-denied"),
        pytest.param(SSE_NULL, "aws:kms", "Allow", id="sse:null-header-present-allowed"),
    ],
)
def test_deny_unencrypted_puts(policy: PolicySource, header: str | None, effect: str) -> None:
    context = {} if header is None else {"s3:x-amz-server-side-encryption": header}
    d = evaluate(ctx_request("s3:PutObject", OBJ, context), [ALLOW_ALL_S3, policy])
    assert d.effect == effect


# -- ${aws:username} home folder (AWS's classic example) ------------------------------------

HOME_FOLDER = identity(
    # DOC["home-folder"]: list the bucket's root and home/, only your own folder below it,
    # and do anything to objects under home/${aws:username}/.
    stmt(
        Sid="AllowListingOfUserFolder",
        Action="s3:ListBucket",
        Resource=HOME,
        Condition={"StringLike": {"s3:prefix": ["", "home/", "home/${aws:username}/*"]}},
    ),
    stmt(
        Sid="AllowAllS3ActionsInUserFolder",
        Action="s3:*",
        Resource=[HOME + "/home/${aws:username}", HOME + "/home/${aws:username}/*"],
    ),
    name="home-folder",
)


@pytest.mark.parametrize(
    ("caller", "action", "resource", "prefix", "effect"),
    [
        pytest.param(
            ALICE, "s3:ListBucket", HOME, "home/alice/", "Allow", id="home-folder:list-own-folder"
        ),
        pytest.param(
            ALICE,
            "s3:ListBucket",
            HOME,
            "home/bob/",
            "ImplicitDeny",
            id="home-folder:list-other-folder",
        ),
        pytest.param(ALICE, "s3:ListBucket", HOME, "", "Allow", id="home-folder:list-root"),
        pytest.param(
            ALICE,
            "s3:GetObject",
            HOME + "/home/alice/cv.pdf",
            None,
            "Allow",
            id="home-folder:get-own-object",
        ),
        pytest.param(
            ALICE,
            "s3:GetObject",
            HOME + "/home/bob/cv.pdf",
            None,
            "ImplicitDeny",
            id="home-folder:get-other-object",
        ),
        pytest.param(
            BOB,
            "s3:PutObject",
            HOME + "/home/bob/cv.pdf",
            None,
            "Allow",
            id="home-folder:same-policy-serves-bob",
        ),
        # DOC["variables"] ("Policy variables with no value"): a role has no aws:username,
        # so the variable is null and the resource matches nothing.
        pytest.param(
            ROLE,
            "s3:GetObject",
            HOME + "/home/ingest/x",
            None,
            "ImplicitDeny",
            id="variables:no-username-for-roles",
        ),
    ],
)
def test_home_folder(
    caller: str, action: str, resource: str, prefix: str | None, effect: str
) -> None:
    context = {} if prefix is None else {"s3:prefix": prefix}
    assert evaluate(ctx_request(action, resource, context, caller), [HOME_FOLDER]).effect == effect


# -- s3:prefix and other ListBucket-only keys ------------------------------------------------

RAW_PREFIX = identity(
    # DOC["s3-keys"]: s3:prefix constrains ListBucket ("StringLike": {"s3:prefix": "raw/*"}).
    stmt(
        Action=["s3:ListBucket", "s3:GetObject"],
        Resource=[BUCKET, BUCKET + "/*"],
        Condition={"StringLike": {"s3:prefix": "raw/*"}},
    ),
)


@pytest.mark.parametrize(
    ("action", "resource", "context", "effect"),
    [
        pytest.param(
            "s3:ListBucket",
            BUCKET,
            {"s3:prefix": "raw/2024/"},
            "Allow",
            id="s3-keys:prefix-on-listbucket-matches",
        ),
        pytest.param(
            "s3:ListBucket",
            BUCKET,
            {"s3:prefix": "curated/"},
            "ImplicitDeny",
            id="s3-keys:prefix-on-listbucket-outside",
        ),
        pytest.param(
            "s3:ListBucket", BUCKET, {}, "ImplicitDeny", id="s3-keys:listbucket-without-prefix"
        ),
        # s3:prefix is not a GetObject key: the evaluator drops it, the condition's key is
        # missing and StringLike is false (DOC["operators"], missing key).
        pytest.param(
            "s3:GetObject",
            OBJ,
            {"s3:prefix": "raw/2024/"},
            "ImplicitDeny",
            id="s3-keys:prefix-on-getobject-is-missing",
        ),
    ],
)
def test_s3_prefix_only_on_list_bucket(
    action: str, resource: str, context: dict[str, str], effect: str
) -> None:
    assert evaluate(ctx_request(action, resource, context), [RAW_PREFIX]).effect == effect


@pytest.mark.parametrize(
    ("action", "max_keys", "effect"),
    [
        # DOC["s3-keys"]: "NumericLessThanEquals": {"s3:max-keys": "10"} limits ListBucket.
        pytest.param("s3:ListBucket", "5", "Allow", id="s3-keys:max-keys-under-limit"),
        pytest.param("s3:ListBucket", 10, "Allow", id="s3-keys:max-keys-at-limit-int"),
        pytest.param("s3:ListBucket", "50", "ImplicitDeny", id="s3-keys:max-keys-over-limit"),
        pytest.param("s3:ListBucket", None, "ImplicitDeny", id="s3-keys:max-keys-missing-is-false"),
        pytest.param(
            "s3:GetObject", "5", "ImplicitDeny", id="s3-keys:max-keys-dropped-for-getobject"
        ),
    ],
)
def test_numeric_max_keys(action: str, max_keys: Any, effect: str) -> None:
    policy = identity(
        stmt(
            Action=["s3:ListBucket", "s3:GetObject"],
            Resource="*",
            Condition={"NumericLessThanEquals": {"s3:max-keys": "10"}},
        )
    )
    context = {} if max_keys is None else {"s3:max-keys": max_keys}
    assert evaluate(ctx_request(action, BUCKET, context), [policy]).effect == effect


# -- properties (hypothesis) ----------------------------------------------------------------

ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject"]
ACTION_PATTERNS = ["*", "s3:*", "s3:Get*", "s3:GetObject", "s3:PutObject", "s3:List*", "S3:*Object"]
RESOURCES = [BUCKET, OBJ, BUCKET + "/curated/t.parquet", "arn:aws:s3:::other/raw/a.csv"]
RESOURCE_PATTERNS = [
    "*",
    BUCKET,
    BUCKET + "/*",
    BUCKET + "/raw/*",
    BUCKET + "/raw/?.csv",
    "arn:aws:s3:::*",
]
CONDITIONS: list[dict[str, Any]] = [
    {"Bool": {"aws:SecureTransport": "false"}},
    {"BoolIfExists": {"aws:SecureTransport": "true"}},
    {"StringLike": {"s3:prefix": "raw/*"}},
    {"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}},
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"ForAllValues:StringEquals": {"aws:TagKeys": ["owner"]}},
    {"ForAnyValue:StringLike": {"aws:TagKeys": "own*"}},
    {"Null": {"aws:SourceIp": "true"}},
]
CONTEXT_ITEMS: dict[str, list[Any]] = {
    "aws:SecureTransport": ["true", "false"],
    "s3:prefix": ["raw/", "curated/"],
    "s3:x-amz-server-side-encryption": ["AES256", "aws:kms"],
    "aws:SourceIp": ["10.1.2.3", "192.0.2.1"],
    "aws:TagKeys": [[], ["owner"], ["owner", "team"]],
}


@st.composite
def statements(draw: st.DrawFn, effect: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"Effect": effect or draw(st.sampled_from(["Allow", "Deny"]))}
    out["NotAction" if draw(st.booleans()) else "Action"] = draw(
        st.lists(st.sampled_from(ACTION_PATTERNS), min_size=1, max_size=2)
    )
    out["NotResource" if draw(st.integers(0, 3)) == 0 else "Resource"] = draw(
        st.lists(st.sampled_from(RESOURCE_PATTERNS), min_size=1, max_size=2)
    )
    conditions = draw(st.lists(st.sampled_from(CONDITIONS), max_size=2))
    if conditions:
        out["Condition"] = {k: v for c in conditions for k, v in c.items()}
    return out


policy_lists = st.lists(
    st.lists(statements(), min_size=1, max_size=3).map(lambda s: doc(*s)), min_size=0, max_size=3
).map(lambda docs: [PolicySource(f"p{i}", "identity", d) for i, d in enumerate(docs)])


@st.composite
def requests(draw: st.DrawFn) -> Request:
    keys = draw(st.lists(st.sampled_from(sorted(CONTEXT_ITEMS)), unique=True))
    context = {k: draw(st.sampled_from(CONTEXT_ITEMS[k])) for k in keys}
    return Request(draw(st.sampled_from(ACTIONS)), draw(st.sampled_from(RESOURCES)), ROLE, context)


@settings(max_examples=200, deadline=None)
@given(policies=policy_lists, request=requests(), deny=statements(effect="Deny"))
def test_adding_an_explicit_deny_never_grants(
    policies: list[PolicySource], request: Request, deny: dict[str, Any]
) -> None:
    # DOC["explicit-implicit"]: a Deny can only take access away.
    before = evaluate(request, policies)
    after = evaluate(request, [*policies, PolicySource("extra-deny", "identity", doc(deny))])
    assert after.allowed <= before.allowed
    assert after.effect in (before.effect, "ExplicitDeny")


@settings(max_examples=200, deadline=None)
@given(policies=policy_lists, request=requests(), allow=statements(effect="Allow"))
def test_adding_an_allow_never_revokes(
    policies: list[PolicySource], request: Request, allow: dict[str, Any]
) -> None:
    before = evaluate(request, policies)
    after = evaluate(request, [*policies, PolicySource("extra-allow", "identity", doc(allow))])
    assert after.allowed >= before.allowed
    if before.effect == "ExplicitDeny":
        assert after.effect == "ExplicitDeny"


@settings(max_examples=200, deadline=None)
@given(policies=policy_lists, request=requests())
def test_policy_order_does_not_change_the_effect(
    policies: list[PolicySource], request: Request
) -> None:
    # DOC["single-account"]: every applicable policy is evaluated; order is not precedence.
    assert evaluate(request, policies).effect == evaluate(request, policies[::-1]).effect
