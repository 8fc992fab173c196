"""Investor reports: the HTML report and the plotly figures it embeds."""
