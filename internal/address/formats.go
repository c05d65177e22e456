package address

// formats holds the rules of the countries impactd's supporters live in.
// Each entry is Google's address metadata for the region (see the package
// comment): "name", "fmt", "upper" and "zip", the zip pattern simplified
// where Google's lists every outward code (GB). Postcode prefixes that the
// format itself prints (SE-, CH-, FI-) are Google's.
var formats = map[string]format{
	"AT": {"AUSTRIA", "%O%n%N%n%A%n%Z %C", "", zipAtEnd(`\d{4}`)},
	"AU": {"AUSTRALIA", "%O%n%N%n%A%n%C %S %Z", "CS", zipAtEnd(`\d{4}`)},
	"BE": {"BELGIUM", "%O%n%N%n%A%n%Z %C", "", zipAtEnd(`\d{4}`)},
	"CA": {"CANADA", "%N%n%O%n%A%n%C %S %Z", "ACNOSZ", zipAtEnd(`[ABCEGHJKLMNPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d`)},
	"CH": {"SWITZERLAND", "%O%n%N%n%A%nCH-%Z %C", "", zipAtEnd(`\d{4}`)},
	"DE": {"GERMANY", "%N%n%O%n%A%n%Z %C", "", zipAtEnd(`\d{5}`)},
	"DK": {"DENMARK", "%N%n%O%n%A%n%Z %C", "", zipAtEnd(`\d{4}`)},
	"ES": {"SPAIN", "%N%n%O%n%A%n%Z %C %S", "CS", zipAtEnd(`\d{5}`)},
	"FI": {"FINLAND", "%O%n%N%n%A%nFI-%Z %C", "", zipAtEnd(`\d{5}`)},
	"FR": {"FRANCE", "%O%n%N%n%A%n%Z %C", "CX", zipAtEnd(`\d{2} ?\d{3}`)},
	"GB": {"UNITED KINGDOM", "%N%n%O%n%A%n%C%n%Z", "CZ", zipAtEnd(`GIR ?0AA|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}`)},
	"GR": {"GREECE", "%N%n%O%n%A%n%Z %C", "", zipAtEnd(`\d{3} ?\d{2}`)},
	"IE": {"IRELAND", "%N%n%O%n%A%n%D%n%C%n%S%n%Z", "", zipAtEnd(`[\dA-Z]{3} ?[\dA-Z]{4}`)},
	"IT": {"ITALY", "%N%n%O%n%A%n%Z %C %S", "CS", zipAtEnd(`\d{5}`)},
	"NL": {"NETHERLANDS", "%O%n%N%n%A%n%Z %C", "", zipAtEnd(`[1-9]\d{3} ?(?:[A-RT-Z][A-Z]|S[BCE-RT-Z])`)},
	"NO": {"NORWAY", "%N%n%O%n%A%n%Z %C", "", zipAtEnd(`\d{4}`)},
	"NZ": {"NEW ZEALAND", "%N%n%O%n%A%n%D%n%C %Z", "", zipAtEnd(`\d{4}`)},
	"PL": {"POLAND", "%N%n%O%n%A%n%Z %C", "", zipAtEnd(`\d{2}-\d{3}`)},
	"PT": {"PORTUGAL", "%N%n%O%n%A%n%Z %C", "", zipAtEnd(`\d{4}-\d{3}`)},
	"RU": {"RUSSIAN FEDERATION", "%N%n%O%n%A%n%C%n%S%n%Z", "AC", zipAtEnd(`\d{6}`)},
	"SE": {"SWEDEN", "%O%n%N%n%A%nSE-%Z %C", "", zipAtEnd(`\d{3} ?\d{2}`)},
	"UA": {"UKRAINE", "%N%n%O%n%A%n%C%n%S%n%Z", "", zipAtEnd(`\d{5}`)},
	"US": {"UNITED STATES", "%N%n%O%n%A%n%C, %S %Z", "CS", zipAtEnd(`\d{5}(?:[ \-]\d{4})?`)},
}

// neutral is the format of a country the table lacks.
var neutral = format{fmt: "%N%n%O%n%A%n%C %Z%n%S", zip: nil}
