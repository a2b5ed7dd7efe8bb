//! Why a dump line gave no credential: the skip reasons every stage counts.
//!
//! Owns the closed list of reasons and their stable names (the summary and the
//! `--stats` JSON use them). Every line a dump holds is either a pair or one of these,
//! so lines = pairs + skipped, always.

/// Why a line was not turned into a credential pair. Counted per reason in the stats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// Empty or whitespace-only line.
    Blank,
    /// A line starting with `#`.
    Comment,
    /// The line contains a NUL byte (binary garbage).
    Binary,
    /// The line is longer than [`super::MAX_LINE`].
    TooLong,
    /// No separator (`:` `;` `|` TAB) after the login.
    NoSeparator,
    /// The login is empty after trimming.
    EmptyLogin,
    /// The password is empty.
    EmptyPassword,
    /// A line starting with `{` that is not a valid JSON object.
    BadJson,
    /// A JSON object without a string login or password field.
    JsonMissingField,
    /// The header record of a CSV dump.
    CsvHeader,
    /// A CSV dump whose header names no login or no password column.
    CsvNoColumns,
    /// A CSV record too short to hold the login and password columns, or unreadable.
    CsvBadRecord,
    /// A stealer-log block's label line (`URL:`, `Username:`, or a `Password:`
    /// without its login): the pair is counted on the password's line
    /// ([`super::block`]).
    BlockField,
    /// A credential saved for a site `--url-filter` does not keep.
    UrlFiltered,
}

impl SkipReason {
    /// Every reason, in the order reports list them.
    pub const ALL: [SkipReason; 14] = [
        SkipReason::Blank,
        SkipReason::Comment,
        SkipReason::Binary,
        SkipReason::TooLong,
        SkipReason::NoSeparator,
        SkipReason::EmptyLogin,
        SkipReason::EmptyPassword,
        SkipReason::BadJson,
        SkipReason::JsonMissingField,
        SkipReason::CsvHeader,
        SkipReason::CsvNoColumns,
        SkipReason::CsvBadRecord,
        SkipReason::BlockField,
        SkipReason::UrlFiltered,
    ];

    /// Number of reasons (size of a counter array).
    pub const COUNT: usize = Self::ALL.len();

    /// Stable snake_case name used in the summary and `--stats` JSON.
    pub fn name(self) -> &'static str {
        match self {
            SkipReason::Blank => "blank",
            SkipReason::Comment => "comment",
            SkipReason::Binary => "binary",
            SkipReason::TooLong => "too_long",
            SkipReason::NoSeparator => "no_separator",
            SkipReason::EmptyLogin => "empty_login",
            SkipReason::EmptyPassword => "empty_password",
            SkipReason::BadJson => "bad_json",
            SkipReason::JsonMissingField => "json_missing_field",
            SkipReason::CsvHeader => "csv_header",
            SkipReason::CsvNoColumns => "csv_no_columns",
            SkipReason::CsvBadRecord => "csv_bad_record",
            SkipReason::BlockField => "block_field",
            SkipReason::UrlFiltered => "url_filtered",
        }
    }

    /// Index into a `[u64; SkipReason::COUNT]` counter array.
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
}
