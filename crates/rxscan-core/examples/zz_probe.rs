use polars::prelude::*;
fn main() {
    let cases: &[&[u8]] = &[
        b"a,b,c\n1,,3\n4,5\n\n7,8,9\n\n\n",
        b"a,b,c\r\n1,,3\r\n4,5\r\n\r\n7,8,9\r\n",
        b"a,b,c\n1,\"x\ny\",3\n \n7,8,9",
        b"a,b,c\n1,x\"y,3\n",
        b"a,b,c\n1,\"x\"y,3\n",
        b"\xef\xbb\xbfa,b,c\n1,2,3\n",
        b"a,b,c\n1,2,3\n\n",
    ];
    for (k, c) in cases.iter().enumerate() {
        let p = format!("/tmp/bx/probe{k}.csv");
        std::fs::write(&p, c).unwrap();
        for missing in [true, false] {
            let r = CsvReadOptions::default()
                .with_has_header(true)
                .with_infer_schema_length(Some(0))
                .with_raise_if_empty(false)
                .map_parse_options(|o| o.with_missing_is_null(missing))
                .try_into_reader_with_file_path(Some(p.clone().into()))
                .and_then(|r| r.finish());
            match r {
                Ok(df) => {
                    let rows: Vec<String> = (0..df.height()).map(|i| format!("{:?}", df.get_row(i).unwrap().0)).collect();
                    println!("case {k} missing_is_null={missing}: cols {:?}\n  {}", df.get_column_names(), rows.join("\n  "));
                }
                Err(e) => println!("case {k} missing_is_null={missing}: ERR {}", e.to_string().lines().next().unwrap_or("")),
            }
        }
    }
}
