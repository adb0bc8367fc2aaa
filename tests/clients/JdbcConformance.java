// pgJDBC against brainwh serve, the way DBeaver, Metabase, Tableau and DataGrip use it:
// DatabaseMetaData (tables, columns, keys, indexes, type info, functions) and prepared
// statements with parameters of every common type. One JVM run; prints one line per check:
// "ok <name> <value>" or "fail <name> <error>". Run: java -cp postgresql.jar JdbcConformance.java URL
import java.math.BigDecimal;
import java.sql.*;
import java.util.*;

public class JdbcConformance {
    interface Check { Object run() throws Exception; }

    static void check(String name, Check check) {
        try {
            System.out.println("ok " + name + " " + String.valueOf(check.run()).replace('\n', ' '));
        } catch (Throwable error) {
            System.out.println("fail " + name + " " + String.valueOf(error).replace('\n', ' '));
        }
    }

    static int count(ResultSet rows) throws SQLException {
        int n = 0;
        while (rows.next()) n++;
        rows.close();
        return n;
    }

    static List<String> column(ResultSet rows, String name) throws SQLException {
        List<String> out = new ArrayList<>();
        while (rows.next()) out.add(rows.getString(name));
        rows.close();
        return out;
    }

    public static void main(String[] args) throws Exception {
        try (Connection con = DriverManager.getConnection(args[0])) {
            DatabaseMetaData meta = con.getMetaData();
            check("product", () -> meta.getDatabaseProductName() + " " + meta.getDatabaseProductVersion());
            check("catalogs", () -> column(meta.getCatalogs(), "TABLE_CAT"));
            check("schemas", () -> column(meta.getSchemas(), "TABLE_SCHEM"));
            check("table_types", () -> column(meta.getTableTypes(), "TABLE_TYPE"));
            check("tables", () -> column(meta.getTables(null, "main", "%", new String[] {"TABLE"}), "TABLE_NAME"));
            check("views", () -> column(meta.getTables(null, "main", "%", new String[] {"VIEW"}), "TABLE_NAME"));
            check("columns", () -> {
                ResultSet rows = meta.getColumns(null, "main", "structures", "%");
                List<String> out = new ArrayList<>();
                while (rows.next()) out.add(rows.getString("COLUMN_NAME") + ":" + rows.getString("TYPE_NAME") + ":" + rows.getInt("DATA_TYPE"));
                return out;
            });
            check("view_column_remarks", () -> {
                ResultSet rows = meta.getColumns(null, "main", "composition", "n_cells");
                rows.next();
                return rows.getString("REMARKS");
            });
            check("table_remarks", () -> {
                ResultSet rows = meta.getTables(null, "main", "composition", null);
                rows.next();
                return rows.getString("REMARKS") != null;
            });
            check("primary_keys", () -> count(meta.getPrimaryKeys(null, "main", "structures")));
            check("imported_keys", () -> count(meta.getImportedKeys(null, "main", "cells")));
            check("exported_keys", () -> count(meta.getExportedKeys(null, "main", "structures")));
            check("cross_reference", () -> count(meta.getCrossReference(null, "main", "structures", null, "main", "cells")));
            check("index_info", () -> count(meta.getIndexInfo(null, "main", "structures", false, true)));
            check("type_info", () -> column(meta.getTypeInfo(), "TYPE_NAME").size());
            check("functions", () -> column(meta.getFunctions(null, "main", "%"), "FUNCTION_NAME"));
            check("procedures", () -> count(meta.getProcedures(null, "main", "%")));
            check("function_columns", () -> count(meta.getFunctionColumns(null, "main", "compare_composition", "%")));
            check("udts", () -> count(meta.getUDTs(null, "main", "%", null)));
            check("privileges", () -> count(meta.getTablePrivileges(null, "main", "structures")));
            check("best_row", () -> count(meta.getBestRowIdentifier(null, "main", "structures", DatabaseMetaData.bestRowSession, true)));
            check("version_columns", () -> count(meta.getVersionColumns(null, "main", "structures")));
            check("keywords", () -> meta.getSQLKeywords().length() > 0);

            check("prepared_types", () -> {
                try (PreparedStatement ps = con.prepareStatement(
                        "select ?::integer + 1, ?::bigint * 2, ? || '!', ?::double + 0.5, "
                        + "?::decimal(10,2), ?::date + 1, ?::timestamp, ?::boolean, ?::text is null")) {
                    ps.setInt(1, 41);
                    ps.setLong(2, 21L);
                    ps.setString(3, "MOp");
                    ps.setDouble(4, 1.0);
                    ps.setBigDecimal(5, new BigDecimal("12.34"));
                    ps.setDate(6, java.sql.Date.valueOf("2000-01-01"));
                    ps.setTimestamp(7, Timestamp.valueOf("2024-01-02 03:04:05"));
                    ps.setBoolean(8, true);
                    ps.setNull(9, Types.VARCHAR);
                    ResultSet rows = ps.executeQuery();
                    rows.next();
                    return rows.getInt(1) + "|" + rows.getLong(2) + "|" + rows.getString(3) + "|"
                        + rows.getDouble(4) + "|" + rows.getBigDecimal(5) + "|" + rows.getDate(6) + "|"
                        + rows.getTimestamp(7) + "|" + rows.getBoolean(8) + "|" + rows.getBoolean(9);
                }
            });
            check("prepared_columns", () -> {
                try (PreparedStatement ps = con.prepareStatement(
                        "select count(*) from cells where region_of_interest_acronym = ? and cluster_alias > ?")) {
                    int n = 0;
                    for (int round = 0; round < 6; round++) {  // prepared server-side from the 5th run
                        ps.setString(1, "MOp");
                        ps.setInt(2, 100);
                        ResultSet rows = ps.executeQuery();
                        rows.next();
                        n = rows.getInt(1);
                    }
                    return n;
                }
            });
            check("date_parameter", () -> {
                try (PreparedStatement ps = con.prepareStatement("select ? = date '2000-01-01', ?::date")) {
                    ps.setDate(1, java.sql.Date.valueOf("2000-01-01"));
                    ps.setDate(2, java.sql.Date.valueOf("1999-12-31"));
                    ResultSet rows = ps.executeQuery();
                    rows.next();
                    return rows.getBoolean(1) + "|" + rows.getDate(2);
                }
            });
            check("parameter_metadata", () -> {
                try (PreparedStatement ps = con.prepareStatement(
                        "select * from structures where structure_id = ? and acronym = ? limit ?")) {
                    ParameterMetaData pm = ps.getParameterMetaData();
                    return pm.getParameterCount() + ":" + pm.getParameterTypeName(1) + ","
                        + pm.getParameterTypeName(2) + "," + pm.getParameterTypeName(3);
                }
            });
            check("result_metadata", () -> {
                try (PreparedStatement ps = con.prepareStatement("select structure_id, acronym from structures where depth = ?")) {
                    ResultSetMetaData rm = ps.getMetaData();
                    return rm.getColumnCount() + ":" + rm.getColumnTypeName(1) + "," + rm.getColumnTypeName(2);
                }
            });
            check("array_parameter", () -> {
                try (PreparedStatement ps = con.prepareStatement(
                        "select count(*) from structures where acronym = any(?)")) {
                    ps.setArray(1, con.createArrayOf("text", new String[] {"MOp", "VISp"}));
                    ResultSet rows = ps.executeQuery();
                    rows.next();
                    return rows.getInt(1);
                }
            });
            check("macro_call", () -> {
                try (PreparedStatement ps = con.prepareStatement(
                        "select count(*) from compare_composition(?, ?, ?)")) {
                    ps.setString(1, "MOp");
                    ps.setString(2, "STRd");
                    ps.setString(3, "class");
                    ResultSet rows = ps.executeQuery();
                    rows.next();
                    return rows.getInt(1);
                }
            });
            check("fetch_size", () -> {
                con.setAutoCommit(false);
                try (Statement st = con.createStatement()) {
                    st.setFetchSize(1000);
                    int n = count(st.executeQuery("select * from range(25000)"));
                    con.setAutoCommit(true);
                    return n;
                }
            });
            check("error_then_continue", () -> {
                try (Statement st = con.createStatement()) {
                    try {
                        st.executeQuery("select * from no_such_table");
                        return "no error";
                    } catch (SQLException expected) {
                        ResultSet rows = st.executeQuery("select 1");
                        rows.next();
                        return expected.getSQLState() + ":" + rows.getInt(1);
                    }
                }
            });
        }
    }
}
