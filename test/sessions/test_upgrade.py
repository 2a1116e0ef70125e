#!/usr/bin/env python3
"""Extension upgrades: install every released version, store and score a
model, ALTER EXTENSION onnx UPDATE to the current version, score again,
and compare the upgraded objects with a fresh install of the current
version (functions with their flags and privileges, the table's columns,
constraints, triggers and privileges), as pg_stat_statements' upgrade
tests do."""
import glob
import json
import os
import re

import psycopg

from common import ROOT, Tally, fixture_bytes

t = Tally()
control = open(os.path.join(ROOT, "onnx.control")).read()
current = re.search(r"default_version\s*=\s*'([^']+)'", control).group(1)
versions = sorted({re.match(r"onnx--([0-9.]+)\.sql$", os.path.basename(p)).group(1)
                   for p in glob.glob(os.path.join(ROOT, "onnx--*.sql"))
                   if re.match(r"onnx--([0-9.]+)\.sql$", os.path.basename(p))},
                  key=lambda v: [int(x) for x in v.split(".")])

SHAPE = """
SELECT 'function ' || p.oid::regprocedure || ' strict=' || p.proisstrict || ' volatile=' || p.provolatile::text
       || ' parallel=' || p.proparallel::text || ' secdef=' || p.prosecdef || ' rettype=' || p.prorettype::regtype
       || ' acl=' || coalesce(p.proacl::text, 'default') || ' config=' || coalesce(p.proconfig::text, '')
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'onnx'
UNION ALL
SELECT 'column ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull
       || ' default=' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), '')
FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE a.attrelid = 'onnx_models'::regclass AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid) || ' valid=' || convalidated
FROM pg_constraint WHERE conrelid = 'onnx_models'::regclass
UNION ALL
SELECT 'trigger ' || tgname || ' enabled=' || tgenabled::text || ' ' || pg_get_triggerdef(oid)
FROM pg_trigger WHERE tgrelid = 'onnx_models'::regclass AND NOT tgisinternal
UNION ALL
SELECT 'table acl=' || coalesce(relacl::text, 'default') || ' rls=' || relrowsecurity
FROM pg_class WHERE oid = 'onnx_models'::regclass
UNION ALL
SELECT 'config dump ' || array_to_string(extconfig::regclass[]::text[], ',') FROM pg_extension WHERE extname = 'onnx'
ORDER BY 1
"""


def fresh(db, version=None):
    with psycopg.connect(dbname="postgres", autocommit=True) as c:
        c.execute('DROP DATABASE IF EXISTS "%s"' % db)
        c.execute('CREATE DATABASE "%s"' % db)
    c = psycopg.connect(dbname=db, autocommit=True)
    c.execute("CREATE EXTENSION onnx" + (" VERSION '%s'" % version if version else ""))
    return c


def shape(c):
    return [r[0] for r in c.execute(SHAPE).fetchall()]


t.check(current == versions[-1], "the default version %s is the newest install script" % current, str(versions))
meta = json.load(open(os.path.join(ROOT, "META.json")))
t.check(meta["version"] == meta["provides"]["onnx"]["version"] == current,
        "META.json gives the same version (%s)" % meta["version"])
t.check(("## %s" % current) in open(os.path.join(ROOT, "CHANGELOG.md")).read(), "CHANGELOG.md has the version")
t.check(("(%s)" % current) in open(os.path.join(ROOT, "debian", "changelog")).readline(),
        "debian/changelog's newest entry is the version")
ref = fresh("onnx_upgrade_fresh")
want = shape(ref)
mlp = fixture_bytes("mlp.onnx")
ref.execute("SELECT onnx_create_model('m', %s)", (mlp,))
want_pred = ref.execute("SELECT onnx_predict('m', '{1,2,3,4}')").fetchone()[0]
ref.close()
for old in versions[:-1]:
    c = fresh("onnx_upgrade_from_" + old.replace(".", "_"), old)
    c.execute("SELECT onnx_create_model('m', %s)", (mlp,))
    before = c.execute("SELECT onnx_predict('m', '{1,2,3,4}')").fetchone()[0]
    c.execute("ALTER EXTENSION onnx UPDATE")
    got_version = c.execute("SELECT extversion FROM pg_extension WHERE extname = 'onnx'").fetchone()[0]
    t.check(got_version == current, "%s updates to %s" % (old, current), got_version)
    after = c.execute("SELECT onnx_predict('m', '{1,2,3,4}')").fetchone()[0]
    t.check(before == after == want_pred, "the model stored under %s scores the same after the update" % old)
    have = shape(c)
    diff = sorted(set(want) ^ set(have))
    t.check(not diff, "the objects upgraded from %s equal a fresh install of %s" % (old, current),
            "\n    " + "\n    ".join(("fresh:    " if d in want else "upgraded: ") + d for d in diff))
    c.close()
t.finish()
