from warehouse.cli import command

command()
