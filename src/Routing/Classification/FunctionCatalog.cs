using System.Collections.Frozen;

namespace Sluice.Routing.Classification;

/// <summary>How a function call affects routing.</summary>
internal enum FunctionEffect
{
    /// <summary>Writes nothing: fine on a replica.</summary>
    ReadSafe,

    /// <summary>Known to need the primary (writes, sequences, locks, notifications, session state).</summary>
    Primary,

    /// <summary>Volatile or unknown: the primary, to be safe.</summary>
    Unknown,

    /// <summary>A session-level advisory lock: primary, and the client is pinned to its connection.</summary>
    PrimaryAndPinned,
}

/// <summary>
/// Decides where a function call may run. Built-in knowledge first, then the <see cref="IFunctionVolatilitySource"/>;
/// anything still unknown goes to the primary.
/// </summary>
/// <remarks>
/// Decisions worth knowing: random(), gen_random_uuid() and friends are volatile but write nothing, so they are
/// read-safe; pg_sleep() is read-safe (it only waits); nextval/currval/setval/lastval always go to the primary
/// (currval/lastval read the session's own nextval, which happened on the primary). Functions of the read-safe list
/// count only unqualified or qualified with pg_catalog: <c>myschema.lower()</c> is someone else's function.
/// </remarks>
internal sealed class FunctionCatalog
{
    /// <summary>Session-level advisory locks: they outlive the transaction, so they pin the client.</summary>
    private static readonly FrozenSet<string> SessionAdvisoryLocks = FrozenSet.Create(StringComparer.Ordinal,
        "pg_advisory_lock", "pg_advisory_lock_shared", "pg_try_advisory_lock", "pg_try_advisory_lock_shared");

    /// <summary>Always the primary, whatever a volatility source says.</summary>
    private static readonly FrozenSet<string> AlwaysPrimary = FrozenSet.Create(StringComparer.Ordinal,
        // Sequences.
        "nextval", "setval", "currval", "lastval",
        // Notifications, settings, transaction ids that assign one.
        "pg_notify", "set_config", "setseed", "txid_current", "pg_current_xact_id",
        // WAL positions of a primary (they fail during recovery).
        "pg_current_wal_lsn", "pg_current_wal_insert_lsn", "pg_current_wal_flush_lsn", "pg_switch_wal",
        "pg_create_restore_point", "pg_backup_start", "pg_backup_stop", "pg_start_backup", "pg_stop_backup",
        // Server administration.
        "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile", "pg_promote",
        "pg_wal_replay_pause", "pg_wal_replay_resume", "pg_export_snapshot", "pg_import_snapshot",
        "pg_log_backend_memory_contexts", "pg_file_write", "pg_file_rename", "pg_file_unlink", "pg_file_sync",
        "pg_truncate_visibility_map", "pg_prewarm", "pg_sequence_last_value");

    /// <summary>Name prefixes that always go to the primary.</summary>
    private static readonly string[] AlwaysPrimaryPrefixes =
    [
        "pg_advisory_", "pg_try_advisory_", "lo_", "dblink", "pg_create_", "pg_drop_replication_slot",
        "pg_replication_origin_", "pg_replication_slot_", "pg_logical_", "pg_stat_reset", "pg_copy_",
    ];

    /// <summary>Built-in functions (pg_catalog) that write nothing and work on a hot standby.</summary>
    private static readonly FrozenSet<string> ReadSafe = FrozenSet.Create(StringComparer.Ordinal,
        // Aggregates.
        "count", "sum", "avg", "min", "max", "array_agg", "string_agg", "json_agg", "jsonb_agg", "json_object_agg",
        "jsonb_object_agg", "json_agg_strict", "jsonb_agg_strict", "json_object_agg_strict", "jsonb_object_agg_strict",
        "json_object_agg_unique", "jsonb_object_agg_unique", "json_object_agg_unique_strict",
        "jsonb_object_agg_unique_strict", "json_objectagg", "json_arrayagg", "xmlagg", "bool_and", "bool_or", "every",
        "bit_and", "bit_or", "bit_xor", "stddev", "stddev_pop", "stddev_samp", "variance", "var_pop", "var_samp",
        "corr", "covar_pop", "covar_samp", "regr_avgx", "regr_avgy", "regr_count", "regr_intercept", "regr_r2",
        "regr_slope", "regr_sxx", "regr_sxy", "regr_syy", "percentile_cont", "percentile_disc", "mode", "any_value",
        "range_agg", "range_intersect_agg", "grouping",
        // Window functions.
        "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead", "first_value",
        "last_value", "nth_value",
        // Conditionals and SQL-standard function-like syntax.
        "coalesce", "nullif", "greatest", "least", "num_nulls", "num_nonnulls", "cast", "treat", "extract",
        "substring", "position", "overlay", "trim", "normalize", "collation",
        // Math.
        "abs", "ceil", "ceiling", "floor", "round", "trunc", "sign", "sqrt", "cbrt", "exp", "ln", "log", "log10",
        "power", "pow", "mod", "div", "degrees", "radians", "pi", "sin", "cos", "tan", "cot", "asin", "acos", "atan",
        "atan2", "sind", "cosd", "tand", "cotd", "asind", "acosd", "atand", "atan2d", "sinh", "cosh", "tanh", "asinh",
        "acosh", "atanh", "gcd", "lcm", "factorial", "width_bucket", "scale", "min_scale", "trim_scale", "erf", "erfc",
        "gamma", "lgamma", "random", "random_normal",
        // Strings.
        "length", "char_length", "character_length", "octet_length", "bit_length", "lower", "upper", "initcap",
        "casefold", "substr", "strpos", "replace", "concat", "concat_ws", "left", "right", "lpad", "rpad", "ltrim",
        "rtrim", "btrim", "split_part", "string_to_array", "string_to_table", "array_to_string", "regexp_replace",
        "regexp_match", "regexp_matches", "regexp_split_to_array", "regexp_split_to_table", "regexp_count",
        "regexp_instr", "regexp_like", "regexp_substr", "repeat", "reverse", "translate", "format", "quote_ident",
        "quote_literal", "quote_nullable", "md5", "sha224", "sha256", "sha384", "sha512", "crc32", "crc32c", "encode",
        "decode", "to_hex", "to_bin", "to_oct", "ascii", "chr", "starts_with", "convert", "convert_from",
        "convert_to", "to_char", "to_number", "to_date", "to_timestamp", "unistr", "parse_ident", "get_byte",
        "get_bit", "set_byte", "set_bit", "bit_count", "is_normalized", "text", "hashtext", "uuid_extract_timestamp",
        "uuid_extract_version",
        // Date and time.
        "now", "current_timestamp", "current_time", "current_date", "localtime", "localtimestamp",
        "clock_timestamp", "statement_timestamp", "transaction_timestamp", "timeofday", "date_trunc", "date_part",
        "date_bin", "age", "make_date", "make_time", "make_timestamp", "make_timestamptz", "make_interval",
        "justify_days", "justify_hours", "justify_interval", "isfinite", "date_add", "date_subtract", "timezone",
        "overlaps",
        // JSON.
        "to_json", "to_jsonb", "array_to_json", "row_to_json", "json_build_object", "jsonb_build_object",
        "json_build_array", "jsonb_build_array", "json_object", "jsonb_object", "json_array", "json_scalar",
        "json_serialize", "json", "json_query", "json_value", "json_exists", "json_table", "json_array_length",
        "jsonb_array_length", "json_each", "jsonb_each", "json_each_text", "jsonb_each_text", "json_extract_path",
        "jsonb_extract_path", "json_extract_path_text", "jsonb_extract_path_text", "json_object_keys",
        "jsonb_object_keys", "json_populate_record", "jsonb_populate_record", "jsonb_populate_record_valid",
        "json_populate_recordset", "jsonb_populate_recordset", "json_to_record", "jsonb_to_record",
        "json_to_recordset", "jsonb_to_recordset", "json_array_elements", "jsonb_array_elements",
        "json_array_elements_text", "jsonb_array_elements_text", "json_typeof", "jsonb_typeof", "json_strip_nulls",
        "jsonb_strip_nulls", "jsonb_set", "jsonb_set_lax", "jsonb_insert", "jsonb_pretty", "jsonb_concat",
        "jsonb_contains", "jsonb_exists", "jsonb_exists_any", "jsonb_exists_all", "jsonb_path_exists",
        "jsonb_path_match", "jsonb_path_query", "jsonb_path_query_array", "jsonb_path_query_first",
        "jsonb_path_exists_tz", "jsonb_path_match_tz", "jsonb_path_query_tz", "jsonb_path_query_array_tz",
        "jsonb_path_query_first_tz", "jsonb_delete", "jsonb_delete_path",
        // XML.
        "xmlelement", "xmlforest", "xmlconcat", "xmlparse", "xmlpi", "xmlroot", "xmlserialize", "xmlexists",
        "xmlattributes", "xmlcomment", "xmltext", "xmltable", "xmlnamespaces", "xpath", "xpath_exists",
        "xml_is_well_formed", "xml_is_well_formed_document", "xml_is_well_formed_content",
        // Arrays and set-returning functions.
        "array_length", "array_lower", "array_upper", "array_ndims", "array_dims", "cardinality", "array_append",
        "array_prepend", "array_cat", "array_position", "array_positions", "array_remove", "array_replace",
        "array_fill", "array_reverse", "array_sort", "array_sample", "array_shuffle", "trim_array", "unnest",
        "generate_series", "generate_subscripts",
        // Ranges.
        "isempty", "lower_inc", "upper_inc", "lower_inf", "upper_inf", "range_merge", "int4range", "int8range",
        "numrange", "tsrange", "tstzrange", "daterange", "int4multirange", "int8multirange", "nummultirange",
        "tsmultirange", "tstzmultirange", "datemultirange", "multirange",
        // Full text search.
        "to_tsvector", "to_tsquery", "plainto_tsquery", "phraseto_tsquery", "websearch_to_tsquery", "ts_rank",
        "ts_rank_cd", "ts_headline", "setweight", "strip", "numnode", "querytree", "ts_rewrite", "tsvector_to_array",
        "array_to_tsvector", "ts_lexize", "ts_debug", "ts_parse", "ts_token_type", "get_current_ts_config",
        "ts_delete", "ts_filter",
        // Network.
        "host", "hostmask", "masklen", "netmask", "network", "broadcast", "family", "abbrev", "inet_merge",
        "inet_same_family", "set_masklen",
        // UUIDs (volatile, but they write nothing).
        "gen_random_uuid", "uuidv4", "uuidv7", "uuid_generate_v1", "uuid_generate_v1mc", "uuid_generate_v4",
        // Type casts written as calls.
        "int", "int2", "int4", "int8", "integer", "smallint", "bigint", "float4", "float8", "real", "numeric",
        "bool", "boolean", "date", "timestamp", "timestamptz", "time", "timetz", "interval", "uuid", "jsonb",
        "bytea", "inet", "cidr", "macaddr", "oid", "regclass", "regtype", "regproc", "regprocedure", "regnamespace",
        "regrole", "name", "varchar", "bpchar", "char", "xml", "tsvector", "tsquery", "money",
        // Session and server information.
        "version", "current_database", "current_catalog", "current_schema", "current_schemas", "current_user",
        "session_user", "current_role", "user", "system_user", "current_query", "inet_client_addr",
        "inet_client_port", "inet_server_addr", "inet_server_port", "pg_backend_pid", "pg_is_in_recovery",
        "pg_is_wal_replay_paused", "pg_get_wal_replay_pause_state", "pg_last_wal_replay_lsn",
        "pg_last_wal_receive_lsn", "pg_last_xact_replay_timestamp", "pg_wal_lsn_diff", "pg_postmaster_start_time",
        "pg_conf_load_time", "current_setting", "pg_typeof", "format_type", "pg_sleep", "pg_sleep_for",
        "pg_sleep_until", "pg_jit_available", "pg_blocking_pids", "pg_safe_snapshot_blocking_pids",
        "pg_trigger_depth", "pg_current_snapshot", "pg_snapshot_xmin", "pg_snapshot_xmax", "pg_snapshot_xip",
        "pg_visible_in_snapshot", "txid_current_snapshot", "txid_snapshot_xmin", "txid_snapshot_xmax",
        "txid_visible_in_snapshot", "pg_xact_status", "txid_status", "pg_client_encoding", "pg_encoding_to_char",
        "pg_char_to_encoding", "pg_listening_channels", "pg_notification_queue_usage", "pg_my_temp_schema",
        "pg_is_other_temp_schema", "pg_input_is_valid", "pg_input_error_info", "pg_column_size",
        "pg_column_compression", "pg_database_size", "pg_relation_size", "pg_total_relation_size", "pg_table_size",
        "pg_indexes_size", "pg_tablespace_size", "pg_size_pretty", "pg_size_bytes", "pg_relation_filenode",
        "pg_relation_filepath", "pg_tablespace_location", "pg_stat_get_activity", "pg_get_keywords",
        "pg_get_viewdef", "pg_get_functiondef", "pg_get_function_arguments", "pg_get_function_result",
        "pg_get_function_identity_arguments", "pg_get_indexdef", "pg_get_constraintdef", "pg_get_expr",
        "pg_get_ruledef", "pg_get_triggerdef", "pg_get_statisticsobjdef", "pg_get_partkeydef",
        "pg_get_serial_sequence", "pg_get_userbyid", "pg_get_acl", "pg_table_is_visible", "pg_type_is_visible",
        "pg_function_is_visible", "pg_opclass_is_visible", "pg_operator_is_visible", "pg_collation_is_visible",
        "pg_conversion_is_visible", "pg_ts_config_is_visible", "pg_statistics_obj_is_visible",
        "pg_index_column_has_property", "pg_index_has_property", "pg_indexam_has_property", "pg_describe_object",
        "pg_identify_object", "pg_identify_object_as_address", "pg_get_object_address", "pg_partition_tree",
        "pg_partition_root", "pg_partition_ancestors", "pg_options_to_table", "pg_settings_get_flags",
        "obj_description", "col_description", "shobj_description", "has_table_privilege", "has_column_privilege",
        "has_any_column_privilege", "has_database_privilege", "has_schema_privilege", "has_function_privilege",
        "has_sequence_privilege", "has_tablespace_privilege", "has_type_privilege", "has_language_privilege",
        "has_foreign_data_wrapper_privilege", "has_server_privilege", "has_parameter_privilege", "pg_has_role",
        "row_security_active", "to_regclass", "to_regtype", "to_regtypemod", "to_regproc", "to_regprocedure",
        "to_regoper", "to_regoperator", "to_regnamespace", "to_regrole", "to_regcollation", "acldefault",
        "aclexplode", "makeaclitem", "pg_get_catalog_foreign_keys", "pg_show_all_settings", "pg_timezone_names",
        "pg_timezone_abbrevs", "pg_available_extensions", "pg_available_extension_versions",
        "pg_stat_get_backend_pid", "pg_stat_get_backend_activity", "pg_stat_get_numscans", "pg_stat_file",
        "pg_ls_dir", "pg_read_file", "pg_read_binary_file", "pg_ls_logdir", "pg_ls_waldir", "pg_control_checkpoint",
        "pg_control_system", "pg_control_init", "pg_control_recovery", "pg_walfile_name", "pg_walfile_name_offset",
        "pg_split_walfile_name", "pg_get_wal_resource_managers", "pg_lsn", "pg_stat_get_wal_receiver",
        "pg_get_backend_memory_contexts");

    private readonly IFunctionVolatilitySource? _volatility;

    public FunctionCatalog(IFunctionVolatilitySource? volatility) => _volatility = volatility;

    /// <summary>Whether a call of <paramref name="name"/> pins the session (session-level advisory locks).</summary>
    public static bool PinsSession(string name) => SessionAdvisoryLocks.Contains(name);

    /// <summary>Where a call may run.</summary>
    /// <param name="schema">The schema the call was qualified with, or null.</param>
    /// <param name="name">The function name (folded when unquoted).</param>
    public FunctionEffect Evaluate(string? schema, string name)
    {
        if (SessionAdvisoryLocks.Contains(name))
        {
            return FunctionEffect.PrimaryAndPinned;
        }

        if (AlwaysPrimary.Contains(name) || StartsWithAny(name))
        {
            return FunctionEffect.Primary;
        }

        if ((schema is null || schema == "pg_catalog") && ReadSafe.Contains(name))
        {
            return FunctionEffect.ReadSafe;
        }

        return AskVolatility(schema, name) is FunctionVolatility.Immutable or FunctionVolatility.Stable
            ? FunctionEffect.ReadSafe
            : FunctionEffect.Unknown;
    }

    private FunctionVolatility? AskVolatility(string? schema, string name)
    {
        if (_volatility is null)
        {
            return null;
        }

        try
        {
            return _volatility.GetVolatility(schema, name);
        }
#pragma warning disable CA1031 // A failing lookup must not fail classification: unknown volatility means primary.
        catch (Exception)
#pragma warning restore CA1031
        {
            return null;
        }
    }

    private static bool StartsWithAny(string name)
    {
        foreach (var prefix in AlwaysPrimaryPrefixes)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
