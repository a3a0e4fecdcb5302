"""The CDISC ODM 1.3.2 file validates against the official schema."""
from pathlib import Path

import pytest
from lxml import etree

from edc.exports import services

# The official CDISC ODM 1.3.2 schema (MIT licence), copied from ../shared/reference so the
# test does not depend on a folder outside the repository.
ODM_DIR = Path(__file__).resolve().parent / "cdisc-odm-1.3.2"
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@pytest.fixture(scope="module")
def xsd():
    return etree.XMLSchema(etree.parse(str(ODM_DIR / "ODM1-3-2.xsd")))


def _validate(xsd, path):
    doc = etree.parse(str(path))
    if not xsd.validate(doc):
        raise AssertionError("\n".join(str(e) for e in list(xsd.error_log)[:20]))
    return doc


@pytest.mark.parametrize("audit", [False, True])
def test_odm_validates_against_the_official_schema(ctx, trial, actor, xsd, audit):
    _lock, snap = services.lock_database(actor("data_manager"), kind="full",
                                         odm_audit=audit)
    doc = _validate(xsd, services.snapshot_dir(snap) / "odm.xml")
    root = doc.getroot()
    assert root.get("ODMVersion") == "1.3.2" and root.get("FileType") == "Snapshot"
    subjects = root.findall(".//odm:SubjectData", NS)
    assert sorted(s.get("SubjectKey") for s in subjects) == sorted(trial.pids)
    n_items = len(root.findall(".//odm:ItemData", NS))
    assert n_items == trial.n_values
    nulls = root.findall(".//odm:ItemData[@IsNull='Yes']", NS)
    assert nulls and all(n.find("odm:Annotation/odm:Flag/odm:FlagValue", NS) is not None
                         for n in nulls)
    if audit:
        assert root.findall(".//odm:AdminData/odm:User", NS)


def test_metadata_from_the_definitions(ctx, trial, actor, xsd):
    _lock, snap = services.lock_database(actor("data_manager"), kind="full")
    root = _validate(xsd, services.snapshot_dir(snap) / "odm.xml").getroot()
    mdv = root.find(".//odm:MetaDataVersion", NS)
    weight = mdv.find("odm:ItemDef[@OID='I.DM.V1.WEIGHT']", NS)
    langs = {t.get(XML_LANG) for t in weight.findall("odm:Question/odm:TranslatedText", NS)}
    assert langs == {"ar", "en", "es", "it"}
    assert weight.get("DataType") == "float" and weight.get("SASFieldName") == "WEIGHT"
    checks = {(r.get("Comparator"), r.get("SoftHard"), r.find("odm:CheckValue", NS).text)
              for r in weight.findall("odm:RangeCheck", NS)}
    assert ("GE", "Hard", "3") in checks and ("LE", "Soft", "130") in checks
    sex = mdv.find("odm:ItemDef[@OID='I.DM.V1.SEX']", NS)
    cl_oid = sex.find("odm:CodeListRef", NS).get("CodeListOID")
    cl = mdv.find(f"odm:CodeList[@OID='{cl_oid}']", NS)
    assert [i.get("CodedValue") for i in cl.findall("odm:CodeListItem", NS)] == ["M", "F"]
    decode = cl.find("odm:CodeListItem/odm:Decode", NS)
    assert {t.get(XML_LANG) for t in decode} == {"ar", "en", "es", "it"}
    bsa_ref = mdv.find("odm:ItemGroupDef[@OID='IG.DM.V1']/odm:ItemRef"
                       "[@ItemOID='I.DM.V1.BSA']", NS)
    method = mdv.find(f"odm:MethodDef[@OID='{bsa_ref.get('MethodOID')}']", NS)
    assert "bsa_mosteller(" in method.find("odm:FormalExpression", NS).text
    events = [e.get("OID") for e in mdv.findall("odm:StudyEventDef", NS)]
    assert events[0] == "SE.SCR" and "SE.UNS" in events and "SE.LOG" in events
    uns = root.find(".//odm:StudyEventData[@StudyEventOID='SE.UNS']", NS)
    assert uns.get("StudyEventRepeatKey") == "1"
