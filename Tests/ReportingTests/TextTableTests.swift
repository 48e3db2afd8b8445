import Reporting
import Testing

@Suite struct TextTableTests {
    let table = TextTable(header: ["name", "count"], rows: [["a, b", "7"], ["say \"hi\"", "1,024"]])

    @Test func alignedPadsEachColumnToItsWidestCell() {
        #expect(table.aligned(rightAligned: [1]) == """
            name      count
            a, b          7
            say "hi"  1,024
            """)
    }

    @Test func markdownRightAlignsNumericColumns() {
        #expect(table.markdown(rightAligned: [1]).split(separator: "\n")[1] == "| --- | ---: |")
    }

    @Test func csvQuotesFieldsWithCommasAndQuotes() {
        #expect(table.csv() == "name,count\n\"a, b\",7\n\"say \"\"hi\"\"\",\"1,024\"")
    }

    @Test func numbersForPeople() {
        #expect(grouped(28_311_552) == "28,311,552" && grouped(-1000) == "-1,000" && grouped(999) == "999")
        #expect(percent(0.02083) == "2.08%")
    }
}
