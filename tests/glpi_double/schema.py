"""The itemtypes the double serves: their table's columns and defaults, and what GLPI 10.0 knows of each class.

Columns come from GLPI 10.0.12 `install/mysql/glpi-empty.sql` (the CREATE TABLE line is given per table); `x` alone
is `DEFAULT NULL` (or a TEXT column), `x:0` an integer default, `x:d` a DECIMAL(20,4) (PHP's mysqli returns it as the
string "0.0000"), `x:f` a FLOAT, `x:s<v>` a VARCHAR default. Integers are native ints in the JSON because GLPI sets
MYSQLI_OPT_INT_AND_FLOAT_NATIVE (src/DBmysql.php:269). Entity and User keep only a subset of their ~100 columns."""
from __future__ import annotations

from dataclasses import dataclass, field


def _columns(spec: str) -> dict[str, object]:
    out: dict[str, object] = {"id": None}
    for word in spec.split():
        name, _, default = word.partition(":")
        if not default:
            out[name] = None
        elif default == "d":
            out[name] = "0.0000"
        elif default == "f":
            out[name] = 0.0
        elif default.startswith("s"):
            out[name] = default[1:]
        else:
            out[name] = int(default)
    return out


@dataclass(frozen=True)
class Itemtype:
    name: str
    table: str
    columns: dict[str, object]
    dropdown: bool = False          # a CommonDropdown: Dropdown::importExternal finds it by name or creates it
    tree: bool = False              # a CommonTreeDropdown: completename "A > B", getDropdownName gives completename
    name_field: str = "name"        # CommonDevice::getNameField() is 'designation'
    deleted_lock: bool = True       # CommonDBTM::useDeletedToLockIfDynamic() (false for Computer, Item_Disk)
    itil: bool = False              # a CommonITILObject (search puts ID first: Search.php:643)
    children: tuple[str, ...] = field(default=())  # hateoas classes (API::getHatoasClasses, API.php:2531)

    def has(self, column: str) -> bool:
        return column in self.columns


_DROPDOWN = "name comment date_mod date_creation"
_DEVICE_ITEM = "is_deleted:0 is_dynamic:0 entities_id:0 is_recursive:0"

# inc/define.php: device_types (order kept: it is the order of `_devices`, Item_Devices::getItemAffinities)
DEVICE_TYPES = ("DeviceMotherboard", "DeviceFirmware", "DeviceProcessor", "DeviceMemory", "DeviceHardDrive",
                "DeviceNetworkCard", "DeviceDrive", "DeviceBattery", "DeviceGraphicCard", "DeviceSoundCard",
                "DeviceControl", "DevicePci", "DeviceCase", "DevicePowerSupply", "DeviceGeneric", "DeviceSimcard",
                "DeviceSensor", "DeviceCamera")
# API::getHatoasClasses for a Computer: reservation, document, contract, infocom, ticket, project_asset and
# networkport types all list Computer (inc/define.php:185-300), then one Item_Device* per device type.
_ASSET_LINKS = ("ReservationItem", "Document_Item", "Contract_Item", "Infocom", "Item_Ticket", "Item_Project")
_COMPUTER_LINKS = _ASSET_LINKS + ("NetworkPort",) + tuple(f"Item_{d}" for d in DEVICE_TYPES)
_TICKET_LINKS = ("Document_Item", "TicketTask", "TicketValidation", "TicketCost", "Problem_Ticket", "Change_Ticket",
                 "Item_Ticket", "ITILSolution", "ITILFollowup", "Ticket_User", "Group_Ticket", "Supplier_Ticket")


def _dropdown(name: str, table: str, extra: str = "", **flags) -> Itemtype:
    return Itemtype(name, table, _columns(extra + " " + _DROPDOWN if extra else _DROPDOWN), dropdown=True, **flags)


ITEMTYPES: dict[str, Itemtype] = {t.name: t for t in [
    # glpi-empty.sql:938
    Itemtype("Computer", "glpi_computers", _columns(
        "entities_id:0 name serial otherserial contact contact_num users_id_tech:0 groups_id_tech:0 comment date_mod "
        "autoupdatesystems_id:0 locations_id:0 networks_id:0 computermodels_id:0 computertypes_id:0 is_template:0 "
        "template_name manufacturers_id:0 is_deleted:0 is_dynamic:0 users_id:0 groups_id:0 states_id:0 ticket_tco:d "
        "uuid date_creation is_recursive:0 last_inventory_update last_boot"),
        deleted_lock=False, children=_COMPUTER_LINKS),
    _dropdown("ComputerType", "glpi_computertypes"),                                  # :1061
    Itemtype("ComputerModel", "glpi_computermodels", _columns(                       # :911
        "name comment product_number weight:0 required_units:1 depth:f power_connections:0 power_consumption:0 "
        "is_half_rack:0 picture_front picture_rear pictures date_mod date_creation"), dropdown=True),
    _dropdown("Manufacturer", "glpi_manufacturers"),                                  # :4166
    Itemtype("AutoUpdateSystem", "glpi_autoupdatesystems", _columns("name comment"), dropdown=True),  # :161
    Itemtype("Location", "glpi_locations", _columns(                                 # :4076
        "entities_id:0 is_recursive:0 name locations_id:0 completename comment level:0 ancestors_cache sons_cache "
        "address postcode town state country building room latitude longitude altitude date_mod date_creation"),
        dropdown=True, tree=True),
    Itemtype("State", "glpi_states", _columns(                                       # :6832 (is_visible_* trimmed)
        "name entities_id:0 is_recursive:0 comment states_id:0 completename level:0 ancestors_cache sons_cache "
        "is_visible_computer:1 is_visible_softwareversion:1 date_mod date_creation"), dropdown=True, tree=True),
    _dropdown("OperatingSystem", "glpi_operatingsystems"),                            # :4982
    _dropdown("OperatingSystemVersion", "glpi_operatingsystemversions"),              # :5014
    _dropdown("OperatingSystemArchitecture", "glpi_operatingsystemarchitectures"),    # :4966
    _dropdown("OperatingSystemKernel", "glpi_operatingsystemkernels"),                # :1156
    _dropdown("OperatingSystemKernelVersion", "glpi_operatingsystemkernelversions", "operatingsystemkernels_id:0"),
    _dropdown("OperatingSystemServicePack", "glpi_operatingsystemservicepacks"),      # :4998
    _dropdown("OperatingSystemEdition", "glpi_operatingsystemeditions"),              # :1189
    Itemtype("Item_OperatingSystem", "glpi_items_operatingsystems", _columns(        # :1113
        "items_id:0 itemtype operatingsystems_id:0 operatingsystemversions_id:0 operatingsystemservicepacks_id:0 "
        "operatingsystemarchitectures_id:0 operatingsystemkernelversions_id:0 license_number licenseid company owner "
        "hostid operatingsystemeditions_id:0 date_mod date_creation is_deleted:0 is_dynamic:0 entities_id:0 "
        "is_recursive:0 install_date")),
    Itemtype("DeviceProcessor", "glpi_deviceprocessors", _columns(                   # :2292
        "designation frequence:0 comment manufacturers_id:0 frequency_default:0 nbcores_default nbthreads_default "
        "entities_id:0 is_recursive:0 deviceprocessormodels_id date_mod date_creation"),
        name_field="designation", children=("Item_Project",)),
    Itemtype("Item_DeviceProcessor", "glpi_items_deviceprocessors", _columns(        # :3640
        "items_id:0 itemtype deviceprocessors_id:0 frequency:0 serial is_deleted:0 is_dynamic:0 nbcores nbthreads "
        "entities_id:0 is_recursive:0 busID otherserial locations_id:0 states_id:0"), children=("Contract_Item",)),
    Itemtype("DeviceMemory", "glpi_devicememories", _columns(                        # :2079
        "designation frequence comment manufacturers_id:0 size_default:0 devicememorytypes_id:0 entities_id:0 "
        "is_recursive:0 devicememorymodels_id date_mod date_creation"), name_field="designation",
        children=("Item_Project",)),
    _dropdown("DeviceMemoryType", "glpi_devicememorytypes"),                          # :2107
    Itemtype("Item_DeviceMemory", "glpi_items_devicememories", _columns(             # :3480
        "items_id:0 itemtype devicememories_id:0 size:0 serial " + _DEVICE_ITEM +
        " busID otherserial locations_id:0 states_id:0"), children=("Contract_Item",)),
    Itemtype("DeviceFirmware", "glpi_devicefirmwares", _columns(                     # :7938
        "designation comment manufacturers_id:0 date version devicefirmwaretypes_id:0 entities_id:0 is_recursive:0 "
        "devicefirmwaremodels_id date_mod date_creation"), name_field="designation", children=("Item_Project",)),
    _dropdown("DeviceFirmwareType", "glpi_devicefirmwaretypes"),                      # :7992
    Itemtype("Item_DeviceFirmware", "glpi_items_devicefirmwares", _columns(          # :7965
        "items_id:0 itemtype devicefirmwares_id:0 " + _DEVICE_ITEM + " serial otherserial locations_id:0 states_id:0"),
        children=("Contract_Item",)),
    Itemtype("Item_Disk", "glpi_items_disks", _columns(                              # :873
        "entities_id:0 itemtype items_id:0 name device mountpoint filesystems_id:0 totalsize:0 freesize:0 "
        "is_deleted:0 is_dynamic:0 encryption_status:0 encryption_tool encryption_algorithm encryption_type "
        "date_mod date_creation"), deleted_lock=False),
    _dropdown("Filesystem", "glpi_filesystems"),                                      # :2909
    Itemtype("Software", "glpi_softwares", _columns(                                 # :6665
        "entities_id:0 is_recursive:0 name comment locations_id:0 users_id_tech:0 groups_id_tech:0 is_update:0 "
        "softwares_id:0 manufacturers_id:0 is_deleted:0 is_template:0 template_name date_mod users_id:0 groups_id:0 "
        "ticket_tco:d is_helpdesk_visible:1 softwarecategories_id:0 is_valid:1 date_creation pictures"),
        children=("ReservationItem", "Document_Item", "Contract_Item", "Infocom", "Item_Ticket", "Item_Project")),
    Itemtype("SoftwareCategory", "glpi_softwarecategories", _columns(                # :6550
        "name comment softwarecategories_id:0 completename level:0 ancestors_cache sons_cache"),
        dropdown=True, tree=True),
    Itemtype("SoftwareVersion", "glpi_softwareversions", _columns(                   # :6713
        "entities_id:0 is_recursive:0 softwares_id:0 states_id:0 name arch comment operatingsystems_id:0 date_mod "
        "date_creation")),
    Itemtype("Item_SoftwareVersion", "glpi_items_softwareversions", _columns(        # :1035
        "items_id:0 itemtype softwareversions_id:0 is_deleted_item:0 is_template_item:0 entities_id:0 is_deleted:0 "
        "is_dynamic:0 date_install")),
    Itemtype("Infocom", "glpi_infocoms", _columns(                                   # :3122
        "items_id:0 itemtype entities_id:0 is_recursive:0 buy_date use_date warranty_duration:0 warranty_info "
        "suppliers_id:0 order_number delivery_number immo_number value:d warranty_value:d sink_time:0 sink_type:0 "
        "sink_coeff:f comment bill budgets_id:0 alert:0 order_date delivery_date inventory_date warranty_date "
        "date_mod date_creation decommission_date businesscriticities_id:0")),
    Itemtype("Entity", "glpi_entities", _columns(                                    # :2680 (subset)
        "name entities_id:0 completename comment level:0 sons_cache ancestors_cache tag autoclose_delay:-2 "
        "tickettype:-2 entities_strategy_software:-2 entities_id_software:0 date_mod date_creation"),
        dropdown=True, tree=True, children=("Document_Item",)),
    Itemtype("ITILCategory", "glpi_itilcategories", _columns(                        # :3782
        "entities_id:0 is_recursive:0 itilcategories_id:0 name completename comment level:0 "
        "knowbaseitemcategories_id:0 users_id:0 groups_id:0 code ancestors_cache sons_cache is_helpdeskvisible:1 "
        "tickettemplates_id_incident:0 tickettemplates_id_demand:0 changetemplates_id:0 problemtemplates_id:0 "
        "is_incident:1 is_request:1 is_problem:1 is_change:1 date_mod date_creation"), dropdown=True, tree=True),
    Itemtype("Ticket", "glpi_tickets", _columns(                                     # :7113
        "entities_id:0 name date closedate solvedate takeintoaccountdate date_mod users_id_lastupdater:0 status:1 "
        "users_id_recipient:0 requesttypes_id:0 content urgency:1 impact:1 priority:1 itilcategories_id:0 type:1 "
        "global_validation:1 slas_id_ttr:0 slas_id_tto:0 slalevels_id_ttr:0 time_to_resolve time_to_own "
        "begin_waiting_date sla_waiting_duration:0 ola_waiting_duration:0 olas_id_tto:0 olas_id_ttr:0 "
        "olalevels_id_ttr:0 ola_tto_begin_date ola_ttr_begin_date internal_time_to_resolve internal_time_to_own "
        "waiting_duration:0 close_delay_stat:0 solve_delay_stat:0 takeintoaccount_delay_stat:0 actiontime:0 "
        "is_deleted:0 locations_id:0 validation_percent:0 date_creation"), itil=True, children=_TICKET_LINKS),
    Itemtype("ITILFollowup", "glpi_itilfollowups", _columns(                         # :8377
        "itemtype items_id:0 date users_id:0 users_id_editor:0 content is_private:0 requesttypes_id:0 date_mod "
        "date_creation timeline_position:0 sourceitems_id:0 sourceof_items_id:0"), children=("Document_Item",)),
    Itemtype("ITILSolution", "glpi_itilsolutions", _columns(                         # :6783
        "itemtype items_id:0 solutiontypes_id:0 solutiontype_name content date_creation date_mod date_approval "
        "users_id:0 user_name users_id_editor:0 users_id_approval:0 user_name_approval status:1 itilfollowups_id"),
        children=("Document_Item",)),
    _dropdown("SolutionType", "glpi_solutiontypes", "entities_id:0 is_recursive:1"),  # :6764
    Itemtype("TicketValidation", "glpi_ticketvalidations", _columns(                 # :7438
        "entities_id:0 users_id:0 tickets_id:0 users_id_validate:0 comment_submission comment_validation status:2 "
        "submission_date validation_date timeline_position:0")),
    Itemtype("Ticket_User", "glpi_tickets_users", _columns(                          # :7209
        "tickets_id:0 users_id:0 type:1 use_notification:1 alternative_email")),
    Itemtype("Group_Ticket", "glpi_groups_tickets", _columns("tickets_id:0 groups_id:0 type:1")),  # :3063
    Itemtype("Item_Ticket", "glpi_items_tickets", _columns("itemtype items_id:0 tickets_id:0")),   # :3768
    _dropdown("RequestType", "glpi_requesttypes",                                     # :6160
              "is_helpdesk_default:0 is_followup_default:0 is_mail_default:0 is_mailfollowup_default:0 is_active:1 "
              "is_ticketheader:1 is_itilfollowup:1"),
    Itemtype("User", "glpi_users", _columns(                                         # :7546 (subset)
        "name password password_last_update phone phone2 mobile realname firstname locations_id:0 language "
        "use_mode:0 list_limit is_active:1 comment auths_id:0 authtype:0 last_login date_mod date_sync is_deleted:0 "
        "profiles_id:0 entities_id:0 usertitles_id:0 usercategories_id:0 api_token api_token_date "
        "personal_token cookie_token registration_number is_deleted_ldap:0 begin_date end_date date_creation "
        "groups_id:0 users_id_supervisor:0 nickname"), children=("Document_Item",)),
    Itemtype("Group", "glpi_groups", _columns(                                       # :2947
        "entities_id:0 is_recursive:0 name comment ldap_field ldap_value ldap_group_dn date_mod groups_id:0 "
        "completename level:0 ancestors_cache sons_cache is_requester:1 is_watcher:1 is_assign:1 is_task:1 "
        "is_notify:1 is_itemgroup:1 is_usergroup:1 is_manager:1 date_creation"), dropdown=True, tree=True),
    Itemtype("Group_User", "glpi_groups_users", _columns(                            # :3077
        "users_id:0 groups_id:0 is_dynamic:0 is_manager:0 is_userdelegate:0")),
    Itemtype("SLM", "glpi_slms", _columns(                                           # :6472
        "name entities_id:0 is_recursive:0 comment use_ticket_calendar:0 calendars_id:0 date_mod date_creation")),
    Itemtype("SLA", "glpi_slas", _columns(                                           # :6494
        "name entities_id:0 is_recursive:0 type:0 comment number_time use_ticket_calendar:0 calendars_id:0 "
        "date_mod definition_time end_of_working_day:0 date_creation slms_id:0")),
]}

BY_TABLE = {t.table: t for t in ITEMTYPES.values()}
BY_LOWER = {name.lower(): name for name in ITEMTYPES}  # PHP class names are case-insensitive (APIRest.php:405)

# User::$undisclosedFields (src/User.php:67), removed by unsetUndisclosedFields before any answer
UNDISCLOSED = {"User": ("password", "personal_token", "api_token", "cookie_token")}

# Rows a fresh GLPI 10.0.12 has (install/empty_data.php): root entity, default users, dropdown seeds
ROOT_ENTITY = {"id": 0, "name": "Root entity", "entities_id": None, "completename": "Root entity", "level": 1,
               "autoclose_delay": -10, "tickettype": 1, "entities_strategy_software": -10}
DEFAULT_USERS = {2: "glpi", 3: "post-only", 4: "tech", 5: "normal", 6: "glpi-system"}  # empty_data.php:8360-8405
SEEDS = {
    "Filesystem": ["ext", "ext2", "ext3", "ext4", "FAT", "FAT32", "VFAT", "HFS", "HPFS", "HTFS", "JFS", "JFS2",
                   "NFS", "NTFS", "ReiserFS", "SMBFS", "UDF", "UFS", "XFS", "ZFS", "APFS"],  # empty_data.php:2224
    "DeviceMemoryType": ["EDO", "DDR", "SDRAM", "SDRAM-2"],                                # empty_data.php:792
    "DeviceFirmwareType": ["BIOS", "UEFI", "Firmware"],                                     # empty_data.php:8407
}


def foreign_table(key: str) -> str | None:
    """DbUtils::isForeignKeyField + getTableNameForForeignKeyField (src/DbUtils.php:69-95): `/._id(_.+)?$/`."""
    import re
    if not re.search(r"._id(_.+)?$", key):
        return None
    return "glpi_" + re.sub(r"_id.*", "", key.lstrip("_"))


def fk_of(itemtype: str) -> str:
    """getForeignKeyFieldForItemType: the table name without `glpi_`, plus `_id`."""
    return ITEMTYPES[itemtype].table[len("glpi_"):] + "_id"
