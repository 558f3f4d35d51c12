"""Editing the organisation tree: who may touch which unit, and what a unit must be."""
import pytest

from gridapp.errors import NotFound, PermissionDenied
from gridapp.extensions import db
from gridapp.org import service as org
from gridapp.org.models import OrgUnit, StaffAssignment

from .. import factories
from .conftest import assign


def add_grid(admin, parent, name="迪祥佳苑A区", code="DXA"):
    unit = org.add_unit(admin, parent, level_name="网格", name=name, code=code, is_grid=True)
    db.session.commit()
    return unit


def test_community_admin_adds_a_grid_beneath_its_community_last_in_order(tree, community_admin):
    grid = add_grid(community_admin, tree.community, code="dxa ")
    assert (grid.parent, grid.code, grid.is_grid, grid.level_name) == (tree.community, "DXA", True, "网格")
    assert [child.code for child in tree.community.children] == ["DXB", "DXA"]


def test_a_code_is_two_to_eight_latin_capitals_or_digits(tree, community_admin):
    for code in ("D", "DXB-1", "迪祥", "ABCDEFGHI", ""):
        with pytest.raises(org.BadCode):
            org.add_unit(community_admin, tree.community, level_name="网格", name="新网格", code=code, is_grid=True)


def test_a_duplicate_code_is_refused_with_its_code_named(tree, community_admin):
    with pytest.raises(org.CodeTaken) as refused:
        org.add_unit(community_admin, tree.community, level_name="网格", name="新网格", code="DXB", is_grid=True)
    assert "DXB" in refused.value.message


def test_a_blank_name_or_level_is_refused(tree, community_admin):
    with pytest.raises(org.BlankName):
        org.add_unit(community_admin, tree.community, level_name="网格", name="  ", code="DXA", is_grid=True)
    with pytest.raises(org.BlankLevel):
        org.add_unit(community_admin, tree.community, level_name=" ", name="新网格", code="DXA", is_grid=True)
    grid = add_grid(community_admin, tree.community)
    with pytest.raises(org.BlankName):
        org.update_unit(community_admin, grid, name=" ")


def test_nothing_goes_beneath_a_grid(tree, community_admin):
    with pytest.raises(org.GridHasNoChildren):
        org.add_unit(community_admin, tree.grid, level_name="楼栋", name="1栋", code="B1", is_grid=False)
    with pytest.raises(org.GridHasNoChildren):
        org.add_unit(community_admin, tree.grid, level_name="网格", name="子网格", code="B2", is_grid=True)


def test_an_admin_never_edits_its_own_unit(tree, community_admin):
    with pytest.raises(org.OwnUnit) as refused:
        org.update_unit(community_admin, tree.community, name="改名社区")
    assert isinstance(refused.value, PermissionDenied)
    with pytest.raises(org.OwnUnit):
        org.unit_to_manage(community_admin, tree.community.id)


def test_units_outside_the_admins_branch_do_not_exist_for_it(tree, community_admin, division_admin):
    other_community = org.add_unit(division_admin, tree.farm, level_name="社区", name="五一社区", code="WYSQ",
                                   is_grid=False)
    other_grid = add_grid(division_admin, other_community, name="五一A区", code="WYA")
    for unit in (other_community, other_grid, tree.farm, tree.division):
        with pytest.raises(NotFound):
            org.unit_to_manage(community_admin, unit.id)
    with pytest.raises(NotFound):
        org.update_unit(community_admin, other_grid, name="改名")
    with pytest.raises(NotFound):
        org.add_unit(community_admin, other_community, level_name="网格", name="x", code="XX", is_grid=True)
    with pytest.raises(NotFound):
        org.parent_to_add_beneath(community_admin, tree.farm.id)


def test_staff_and_unassigned_admins_manage_nothing(tree):
    staff = assign(factories.make_user(role="staff"), tree.community)
    loose_admin = factories.make_user(role="admin")
    for user in (staff, loose_admin):
        assert org.tree_for(user) == []
        with pytest.raises(NotFound):
            org.unit_to_manage(user, tree.grid.id)


def test_a_division_admin_edits_every_level_beneath_and_sets_the_communitys_points_rule(tree, division_admin):
    org.update_unit(division_admin, tree.community, name="屯坪社区", organiser="屯坪社区党委", points_anywhere=True)
    org.update_unit(division_admin, tree.grid, name="迪祥佳苑二区", organiser="二区党支部", counter_place="北门",
                    counter_hours="09:00—12:00", contact="0994-5820000", points_anywhere=True)
    db.session.commit()
    assert (tree.community.organiser, tree.community.points_anywhere) == ("屯坪社区党委", True)
    # A grid has no such setting: it is the community's.
    assert (tree.grid.name, tree.grid.counter_place, tree.grid.counter_hours, tree.grid.points_anywhere) == (
        "迪祥佳苑二区", "北门", "09:00—12:00", False)


def test_the_tree_shows_the_admins_unit_not_editable_and_everything_beneath_editable(tree, community_admin):
    add_grid(community_admin, tree.community)
    (root,) = org.tree_for(community_admin)
    assert (root.unit, root.editable) == (tree.community, False)
    assert [(node.unit.code, node.editable, node.first, node.last) for node in root.children] == [
        ("DXB", True, True, False), ("DXA", True, False, True)]


def test_moving_a_unit_swaps_it_with_its_neighbour_and_stops_at_the_ends(tree, community_admin):
    second = add_grid(community_admin, tree.community)
    third = add_grid(community_admin, tree.community, name="迪祥佳苑C区", code="DXC")
    org.move_unit(community_admin, third, -1)
    db.session.commit()
    db.session.expire_all()
    assert [child.code for child in tree.community.children] == ["DXB", "DXC", "DXA"]
    org.move_unit(community_admin, tree.grid, -1)  # already first
    org.move_unit(community_admin, second, +1)  # already last
    db.session.commit()
    db.session.expire_all()
    assert [child.code for child in tree.community.children] == ["DXB", "DXC", "DXA"]


def test_an_empty_unit_is_deleted(tree, community_admin):
    grid = add_grid(community_admin, tree.community)
    assert org.delete_unit(community_admin, grid) == "迪祥佳苑A区"
    db.session.commit()
    assert db.session.scalars(db.select(OrgUnit).where(OrgUnit.code == "DXA")).first() is None


def test_a_unit_with_children_or_staff_is_not_deleted(tree, community_admin, division_admin):
    with pytest.raises(org.UnitNotEmpty) as refused:
        org.delete_unit(division_admin, tree.community)
    assert "屯坪社区" in refused.value.message
    assign(factories.make_user(role="staff"), tree.grid)
    with pytest.raises(org.UnitHasStaff):
        org.delete_unit(community_admin, tree.grid)


def test_the_databases_refusal_of_a_unit_with_data_becomes_a_clear_message(tree, community_admin, monkeypatch):
    """Rows that belong to a unit (here a staff assignment, whose pre-check is skipped) keep it: the
    foreign key refuses, the service says why, and the unit is still there."""
    assign(factories.make_user(role="staff"), tree.grid)
    monkeypatch.setattr(org, "_staff_count", lambda unit: 0)
    with pytest.raises(org.UnitHasData) as refused:
        org.delete_unit(community_admin, tree.grid)
    assert "迪祥佳苑B区" in refused.value.message and "不能删除" in refused.value.message
    db.session.rollback()
    assert db.session.get(OrgUnit, tree.grid.id) is not None
    assert db.session.scalars(db.select(StaffAssignment).where(StaffAssignment.unit_id == tree.grid.id)).first()


def test_a_letterhead_reads_the_grid_and_its_community(tree):
    names = org.letterhead(tree.grid)
    assert (names.grid, names.community, names.organiser, names.community_organiser) == (
        "迪祥佳苑B区", "屯坪社区", "迪祥佳苑B区网格党支部", "屯坪社区党总支")
    assert (names.counter_place, names.counter_hours) == ("迪祥佳苑B区南门广场", "10:00—17:00")
    assert names.signature == "屯坪社区 · 迪祥佳苑B区网格党支部" and names.brand == "屯坪社区 · 迪祥佳苑B区"
    tree.grid.organiser = ""
    assert org.letterhead(tree.grid).organiser == "迪祥佳苑B区"  # an unsigned grid signs with its name
